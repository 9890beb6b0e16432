using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class MlpTests
{
    static GptConfig Config(bool fused, int nEmbd = 1) => new(VocabSize: 3, BlockSize: 4, NLayer: 2, NHead: 1, NEmbd: nEmbd, Bias: true, Fused: fused);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HandComputedCase(bool fused)
    {
        // C = 1: W₁ = [1, −1, 2, 0]ᵀ, b₁ = 0, W₂ = [1, 1, 1, 1], b₂ = 0.5, x = 1:
        // GELU([1, −1, 2, 0]) = [0.841345, −0.158655, 1.954500, 0], sum + 0.5 = 3.137190.
        var mlp = new Mlp(Config(fused)).to(float64);
        var sd = mlp.state_dict();
        using (no_grad())
        {
            sd["c_fc.weight"].copy_(T(new double[] { 1, -1, 2, 0 }, 4, 1));
            sd["c_fc.bias"].zero_();
            sd["c_proj.weight"].fill_(1);
            sd["c_proj.bias"].fill_(0.5);
        }
        var y = mlp.call(T(new double[] { 1 }, 1, 1, 1));
        Close(T(new double[] { 3.137190 }, 1, 1, 1), y, 1e-5);
    }

    [Fact]
    public void HiddenLayerIsFourTimesTheWidth()
    {
        var sd = new Mlp(Config(false, nEmbd: 8)).state_dict();
        Assert.Equal(new long[] { 32, 8 }, sd["c_fc.weight"].shape);
        Assert.Equal(new long[] { 8, 32 }, sd["c_proj.weight"].shape);
    }

    [Fact]
    public void ResidualProjection_UsesTheScaledInit()
    {
        var sd = new Mlp(Config(false, nEmbd: 64), new Generator(3)).state_dict();
        // n_layer = 2 ⇒ std = 0.02 / √4 = 0.01.
        Assert.InRange(sd["c_proj.weight"].std().item<float>(), 0.0097f, 0.0103f);
        Assert.InRange(sd["c_fc.weight"].std().item<float>(), 0.0195f, 0.0205f);
    }

    [Fact]
    public void Fused_EqualsExplicit_ForwardAndBackward()
        => FusedParity.CheckModules(fused => new Mlp(Config(fused, nEmbd: 4)), 2, 3, 4);

    [Fact]
    public void GradientCheck()
    {
        var mlp = new Mlp(Config(false, nEmbd: 2), new Generator(4)).to(float64);
        var x = GradCheck.Input(1, 1, 2, 2);
        var inputs = new List<Tensor> { x };
        inputs.AddRange(mlp.parameters());
        var err = GradCheck.MaxError(() => mlp.call(x).pow(2).sum(), inputs);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }
}
