using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class CausalSelfAttentionTests
{
    static GptConfig Config(bool fused, bool bias = false) => new(VocabSize: 5, BlockSize: 4, NLayer: 1, NHead: 2, NEmbd: 4, Bias: bias, Fused: fused);

    /// <summary>
    /// FORMULAS §4 with X's rows = [q_t | v_t] of §3: head 1 projects Q = q, K = q·S, V = v and head 2
    /// projects Q = q·S, K = q, V = v·S (S swaps the two columns), so both heads see the §3 / §4 inputs.
    /// Wᴼ is the identity.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WorkedExample_Section4_TwoHeads(bool fused)
    {
        var attn = new CausalSelfAttention(Config(fused)).to(float64);
        var wq = new double[4, 4]; var wk = new double[4, 4]; var wv = new double[4, 4];
        // output channel ← input channel; head 1 = channels 0-1, head 2 = channels 2-3.
        wq[0, 0] = 1; wq[1, 1] = 1; wq[2, 1] = 1; wq[3, 0] = 1;
        wk[0, 1] = 1; wk[1, 0] = 1; wk[2, 0] = 1; wk[3, 1] = 1;
        wv[0, 2] = 1; wv[1, 3] = 1; wv[2, 3] = 1; wv[3, 2] = 1;
        var sd = attn.state_dict();
        using (no_grad())
        {
            sd["c_attn.weight"].copy_(cat([T(wq), T(wk), T(wv)], 0));
            sd["c_proj.weight"].copy_(eye(4, dtype: float64));
        }
        var x = T(new double[,] { { 1, 0, 1, 2 }, { 0, 1, 3, 4 } }).view(1, 2, 4);
        var y = attn.call(x);
        // The last position sees every key, so it is §3's row 1 (head 1) beside §4's row 1 (head 2);
        // the first position sees only itself and returns its own values.
        var expected = T(new double[,] { { 1, 2, 2, 1 }, { 1.66048, 2.66048, 2.66048, 1.66048 } }).view(1, 2, 4);
        Close(expected, y, 1e-5);
    }

    [Fact]
    public void Fused_EqualsExplicit_ForwardAndBackward()
        => FusedParity.CheckModules(fused => new CausalSelfAttention(Config(fused, bias: true)), 2, 4, 4);

    [Fact]
    public void GradientCheck()
    {
        var attn = new CausalSelfAttention(Config(fused: false, bias: true), new Generator(2)).to(float64);
        var x = GradCheck.Input(1, 1, 3, 4);
        var inputs = new List<Tensor> { x };
        inputs.AddRange(attn.parameters());
        var err = GradCheck.MaxError(() => attn.call(x).pow(2).sum(), inputs);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }
}
