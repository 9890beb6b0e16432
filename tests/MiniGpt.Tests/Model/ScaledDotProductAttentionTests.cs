using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class ScaledDotProductAttentionTests
{
    static readonly Tensor Q = T(new double[,] { { 1, 0 }, { 0, 1 } }).view(1, 1, 2, 2);
    static readonly Tensor K = T(new double[,] { { 0, 1 }, { 1, 0 } }).view(1, 1, 2, 2);
    static readonly Tensor V = T(new double[,] { { 1, 2 }, { 3, 4 } }).view(1, 1, 2, 2);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WorkedExample_Section3_NoMask(bool fused)
    {
        var sdpa = new ScaledDotProductAttention(causal: false, dropout: 0, fused);
        var y = sdpa.call(Q, K, V);
        Close(T(new double[,] { { 2.33952, 3.33952 }, { 1.66048, 2.66048 } }).view(1, 1, 2, 2), y, 1e-5);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CausalMask_FirstQuerySeesOnlyTheFirstKey(bool fused)
    {
        // Row 0 can attend key 0 only, so it returns V[0]; row 1 sees both, as in the unmasked example.
        var y = new ScaledDotProductAttention(causal: true, dropout: 0, fused).call(Q, K, V);
        Close(T(new double[,] { { 1, 2 }, { 1.66048, 2.66048 } }).view(1, 1, 2, 2), y, 1e-5);
    }

    [Fact]
    public void CausalMask_WithFewerQueriesThanKeys_AlignsQueriesToTheEnd()
    {
        var mask = ScaledDotProductAttention.CausalMask(2, 4, CPU);
        var expected = tensor(new bool[,] { { true, true, true, false }, { true, true, true, true } });
        Assert.True(mask.equal(expected).all().item<bool>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OneQuery_IsTheLastRowOfFullCausalAttention_WithoutAMask(bool fused)
    {
        // Decoding with a cache: the one new query is the last position and sees every key, so no mask is built.
        var sdpa = new ScaledDotProductAttention(causal: true, dropout: 0, fused);
        using var g = new Generator(4);
        var (q, k, v) = (randn([2, 3, 6, 4], generator: g), randn([2, 3, 6, 4], generator: g), randn([2, 3, 6, 4], generator: g));
        var full = sdpa.call(q, k, v);                                                  // (2, 3, 6, 4)
        var last = sdpa.call(q.narrow(2, 5, 1), k, v);                                  // (2, 3, 1, 4)
        Close(full.narrow(2, 5, 1), last, 1e-6);
        var earlier = sdpa.call(q.narrow(2, 2, 1), k.narrow(2, 0, 3), v.narrow(2, 0, 3));   // position 2 with its keys 0…2
        Close(full.narrow(2, 2, 1), earlier, 1e-6);
    }

    [Theory]
    [InlineData(5, 5)]
    [InlineData(2, 6)]
    [InlineData(1, 6)]
    public void Fused_EqualsExplicit_ForwardAndBackward(long Tq, long Tk)
    {
        var explicitAttention = new ScaledDotProductAttention(causal: true, dropout: 0, fused: false);
        var fusedAttention = new ScaledDotProductAttention(causal: true, dropout: 0, fused: true);
        FusedParity.Check(x => explicitAttention.call(x[0], x[1], x[2]), x => fusedAttention.call(x[0], x[1], x[2]),
            [2, 3, Tq, 4], [2, 3, Tk, 4], [2, 3, Tk, 4]);
    }

    [Fact]
    public void GradientCheck()
    {
        var sdpa = new ScaledDotProductAttention(causal: true, dropout: 0, fused: false);
        var (q, k, v) = (GradCheck.Input(1, 1, 2, 3, 2), GradCheck.Input(2, 1, 2, 3, 2), GradCheck.Input(3, 1, 2, 3, 2));
        var err = GradCheck.MaxError(() => sdpa.call(q, k, v).pow(2).sum(), [q, k, v]);
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }
}
