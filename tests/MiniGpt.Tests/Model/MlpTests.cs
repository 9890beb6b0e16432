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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryOneOfTheFourCHiddenUnits_Contributes(bool fused)
    {
        // C = 2, all weights 1, biases 0, x = [1, 0]: each of the 4C = 8 hidden units is GELU(1) = 0.8413447461,
        // and each output sums all 8: 6.7307579685. A hidden layer of another width gives another sum.
        var mlp = new Mlp(Config(fused, nEmbd: 2)).to(float64);
        using (no_grad())
            foreach (var (name, p) in mlp.named_parameters()) { if (name.EndsWith("weight")) p.fill_(1); else p.zero_(); }
        Close(T(new double[] { 6.730757968548343, 6.730757968548343 }, 1, 1, 2), mlp.call(T(new double[] { 1, 0 }, 1, 1, 2)), 1e-9);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NInner_SetsTheHiddenWidth(bool fused)
    {
        // As above with n_inner = 3: three hidden units of GELU(1), so each output is 3 × 0.8413447461.
        var mlp = new Mlp(Config(fused, nEmbd: 2) with { NInner = 3 }).to(float64);
        Assert.Equal(new long[] { 3, 2 }, mlp.state_dict()["c_fc.weight"].shape);
        using (no_grad())
            foreach (var (name, p) in mlp.named_parameters()) { if (name.EndsWith("weight")) p.fill_(1); else p.zero_(); }
        Close(T(new double[] { 2.524034238205629, 2.524034238205629 }, 1, 1, 2), mlp.call(T(new double[] { 1, 0 }, 1, 1, 2)), 1e-9);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GeluTanh_IsGpt2sApproximation(bool fused)
    {
        // GPT-2's gelu_new at 1: ½(1 + tanh(√(2/π)·1.044715)) = 0.8411919906, eight hidden units summed.
        var mlp = new Mlp(Config(fused, nEmbd: 2) with { Activation = Activation.GeluTanh }).to(float64);
        using (no_grad())
            foreach (var (name, p) in mlp.named_parameters()) { if (name.EndsWith("weight")) p.fill_(1); else p.zero_(); }
        Close(T(new double[] { 6.729535924866214, 6.729535924866214 }, 1, 1, 2), mlp.call(T(new double[] { 1, 0 }, 1, 1, 2)), 1e-9);
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
