using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class BlockTests
{
    static GptConfig Config(bool fused, int nEmbd = 2) => new(VocabSize: 3, BlockSize: 4, NLayer: 1, NHead: 1, NEmbd: nEmbd, Bias: true, Fused: fused);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WorkedExample_Section5_ResidualAddsTheLayerOutputToItsInput(bool fused)
    {
        // With both output projections' weights zeroed, the attention sub-layer outputs its bias [0.5, −0.5]
        // and the MLP outputs 0, so the block is x + [0.5, −0.5] + 0.
        var block = new Block(Config(fused)).to(float64);
        var sd = block.state_dict();
        using (no_grad())
        {
            sd["attn.c_proj.weight"].zero_();
            sd["attn.c_proj.bias"].copy_(tensor(new[] { 0.5, -0.5 }));
            sd["mlp.c_proj.weight"].zero_();
            sd["mlp.c_proj.bias"].zero_();
        }
        var y = block.call(T(new double[] { 1, 2 }, 1, 1, 2));
        Close(T(new double[] { 1.5, 1.5 }, 1, 1, 2), y, 1e-12);
    }

    [Fact]
    public void PreLayerNorm_SublayersSeeNormalisedInput()
    {
        // Scaling x scales the residual path but not what LayerNorm hands the sub-layers (ε aside),
        // so Block(s·x) − s·x equals Block(x) − x.
        var block = new Block(Config(false, nEmbd: 4), new Generator(1)).to(float64);
        var x = GradCheck.Input(2, 1, 3, 4).detach();
        var d1 = block.call(x) - x;
        var d2 = block.call(x * 1000) - x * 1000;
        Close(d1, d2, 1e-4);   // ε = 1e−5 in LayerNorm makes the two differ by ~ε/σ²
    }

    [Fact]
    public void Fused_EqualsExplicit_ForwardAndBackward()
        => FusedParity.CheckModules(fused => new Block(Config(fused, nEmbd: 4) with { NHead = 2 }), 2, 3, 4);

    [Fact]
    public void GradientCheck()
    {
        var block = new Block(Config(false, nEmbd: 2), new Generator(5)).to(float64);
        var x = GradCheck.Input(1, 1, 3, 2);
        var inputs = new List<Tensor> { x };
        inputs.AddRange(block.parameters());
        var err = GradCheck.MaxError(() => block.call(x).pow(2).sum(), inputs);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }
}
