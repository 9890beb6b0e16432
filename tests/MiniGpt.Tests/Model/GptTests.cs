using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class GptTests
{
    static GptConfig Tiny(bool fused = true, PositionEncoding pe = PositionEncoding.Learned, bool bias = false)
        => new(VocabSize: 11, BlockSize: 8, NLayer: 2, NHead: 2, NEmbd: 8, Bias: bias, Fused: fused, PositionEncoding: pe);

    static Tensor Tokens(long seed, long B, long T, long V)
    {
        using var g = new Generator((ulong)seed);
        return randint(V, [B, T], generator: g);
    }

    [Fact]
    public void ParameterCount_ShakespeareCharModel_Is10745088()
    {
        var model = new Gpt(new GptConfig(VocabSize: 65, BlockSize: 256, NLayer: 6, NHead: 6, NEmbd: 384, Bias: false));
        Assert.Equal(10_745_088, model.ParameterCount);
    }

    [Fact]
    public void SlicedRows_GiveTheSameLogitsForOnePosition_ThroughTheTiedHeadToo()
    {
        // V × C = 1024 × 128 = 2¹⁷: the head alone is large enough to be sliced; every layer's matrices are smaller.
        var model = new Gpt(new GptConfig(VocabSize: 1024, BlockSize: 8, NLayer: 1, NHead: 2, NEmbd: 128), seed: 3);
        model.eval();
        var idx = Tokens(4, 1, 1, 1024);                                                   // (1, 1): one position
        using var _ = no_grad();
        var plain = model.call(idx);                                                       // (1, 1, V)
        model.UseSlicedRows(true);
        var sliced = model.call(idx);                                                      // (1, 1, V)
        Assert.False(Identical(plain, sliced), "the head's product went another way");
        double diff = MaxAbsDiff(plain, sliced);
        Assert.True(diff < 1e-5, $"sliced and unsliced logits differ by {diff:E2}");
        model.UseSlicedRows(false);
        Assert.True(Identical(plain, model.call(idx)));
    }

    [Fact]
    public void RotaryModel_HasNoPositionTable()
    {
        var learned = new Gpt(new GptConfig(VocabSize: 65, BlockSize: 256, NLayer: 6, NHead: 6, NEmbd: 384));
        var rotary = new Gpt(new GptConfig(VocabSize: 65, BlockSize: 256, NLayer: 6, NHead: 6, NEmbd: 384, PositionEncoding: PositionEncoding.Rotary));
        Assert.Equal(learned.ParameterCount - 256 * 384, rotary.ParameterCount);
        Assert.DoesNotContain(rotary.UniqueParameters(), p => p.Name.Contains("wpe"));
    }

    [Theory]
    [InlineData(PositionEncoding.Rotary)]
    [InlineData(PositionEncoding.Sinusoidal)]
    public void ComputedPositionTables_HoldTheRowsReached_NotTheBlock(PositionEncoding positions)
    {
        // A block of 2^20 and thin layers: a small checkpoint whose tables, built whole, asked gigabytes.
        var model = new Gpt(new GptConfig(VocabSize: 5, BlockSize: 1 << 20, NLayer: 8, NHead: 2, NEmbd: 8, PositionEncoding: positions));
        long Held() => model.buffers().Sum(b => b.numel());
        long perRow = positions == PositionEncoding.Rotary ? 8 * 2 * 4 : 8;   // cos and sin (hs = 4) in each layer, or one row of C
        Assert.Equal(256 * perRow, Held());
        using (no_grad()) model.call(zeros([1, 300], int64));
        Assert.Equal(512 * perRow, Held());
    }

    [Fact]
    public void TiedWeight_IsListedOnce_AndReceivesBothGradients()
    {
        var model = new Gpt(Tiny());
        var names = model.UniqueParameters().Select(p => p.Name).ToList();
        Assert.Equal(names.Distinct().Count(), names.Count);
        Assert.Single(names, n => n.Contains("wte"));
        Assert.DoesNotContain(names, n => n.Contains("lm_head"));
        // Exactly the parameters a flat optimizer would own, nothing twice.
        using var flat = new FlatParameters(model.UniqueParameters());
        Assert.Equal(model.ParameterCount, flat.Count);

        // E gets gradient from the head even where no input token used its row: token 10 never appears as input.
        var idx = full(new long[] { 1, 4 }, 3L);
        var loss = model.Loss(model.call(idx), full(new long[] { 1, 4 }, 10L));
        loss.backward();
        var wte = model.UniqueParameters().Single(p => p.Name.Contains("wte")).Param;
        Assert.True(wte.grad![10].abs().sum().item<float>() > 0, "the head's gradient did not reach E");
    }

    [Theory]
    [InlineData(true, PositionEncoding.Learned)]
    [InlineData(false, PositionEncoding.Learned)]
    [InlineData(true, PositionEncoding.Rotary)]
    public void Causality_ChangingTokenTPlus1_LeavesEarlierOutputsBitIdentical(bool fused, PositionEncoding pe)
    {
        var model = new Gpt(Tiny(fused, pe));
        model.eval();
        var idx = Tokens(1, 2, 8, 11);
        var changed = idx.clone();
        const int t = 4;
        changed[TensorIndex.Colon, t + 1] = (idx[TensorIndex.Colon, t + 1] + 1) % 11;
        using var _ = no_grad();
        var a = model.call(idx);
        var b = model.call(changed);
        Assert.True(a.narrow(1, 0, t + 1).equal(b.narrow(1, 0, t + 1)).all().item<bool>(), "outputs at positions ≤ t changed");
        Assert.False(a.narrow(1, t + 1, 1).equal(b.narrow(1, t + 1, 1)).all().item<bool>(), "position t+1 should change");
    }

    [Theory]
    [InlineData(PositionEncoding.Learned)]
    [InlineData(PositionEncoding.Sinusoidal)]
    [InlineData(PositionEncoding.Rotary)]
    public void Fused_EqualsExplicit_WholeModel_ForwardAndBackward(PositionEncoding pe)
    {
        foreach (var (dtype, tol) in new[] { (float32, 1e-5), (float64, 1e-10) })
        {
            var e = new Gpt(Tiny(false, pe, bias: true), seed: 3).to(dtype);
            var f = new Gpt(Tiny(true, pe, bias: true), seed: 3).to(dtype);
            var idx = Tokens(2, 2, 8, 11);
            var targets = Tokens(3, 2, 8, 11);
            var le = e.Loss(e.call(idx), targets);
            var lf = f.Loss(f.call(idx), targets);
            Assert.True(Math.Abs(le.ToDouble() - lf.ToDouble()) <= tol, $"{dtype} loss differs");
            le.backward();
            lf.backward();
            foreach (var ((name, pe_), (_, pf)) in e.UniqueParameters().Zip(f.UniqueParameters()))
                Assert.True(ScaledDiff(pe_.grad!, pf.grad!) <= tol, $"{dtype} gradient of {name} differs by {ScaledDiff(pe_.grad!, pf.grad!):E3}");
        }
    }

    [Fact]
    public void GradientCheck_WholeModel()
    {
        var config = new GptConfig(VocabSize: 5, BlockSize: 3, NLayer: 1, NHead: 2, NEmbd: 4, Bias: true, Fused: false);
        var model = new Gpt(config, seed: 9).to(float64);
        var idx = tensor(new long[,] { { 0, 3, 1 } });
        var targets = tensor(new long[,] { { 3, 1, 4 } });
        var err = GradCheck.MaxError(() => model.Loss(model.call(idx), targets), model.UniqueParameters().Select(p => (Tensor)p.Param).ToList());
        Assert.True(err < 1e-6, $"max gradient error {err:E3}");
    }

    [Fact]
    public void SameSeed_SameWeights_DifferentSeed_DifferentWeights()
    {
        var a = new Gpt(Tiny(), seed: 1).UniqueParameters();
        var b = new Gpt(Tiny(), seed: 1).UniqueParameters();
        var c = new Gpt(Tiny(), seed: 2).UniqueParameters();
        Assert.All(a.Zip(b), p => Assert.True(p.First.Param.equal(p.Second.Param).all().item<bool>(), p.First.Name));
        Assert.False(a[0].Param.equal(c[0].Param).all().item<bool>());
    }

    [Fact]
    public void Overfit_OneFixedBatch_LossGoesToNearlyZero()
    {
        var model = new Gpt(new GptConfig(VocabSize: 11, BlockSize: 16, NLayer: 2, NHead: 2, NEmbd: 32), seed: 1);
        using var flat = new FlatParameters(model.UniqueParameters());
        using var opt = new AdamW(flat, weightDecay: 0.0);
        var idx = Tokens(4, 4, 16, 11);
        var targets = Tokens(5, 4, 16, 11);
        double first = 0, last = 0;
        for (int step = 0; step < 300; step++)
        {
            using var scope = NewDisposeScope();
            flat.ZeroGrad();
            var loss = model.Loss(model.call(idx), targets);
            loss.backward();
            opt.StepWith(3e-3);
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.InRange(first, 2.0, 3.0);   // ≈ ln 11 = 2.40 for random init
        Assert.True(last < 0.05, $"loss after 300 steps is {last}");
    }

    [Theory]
    [InlineData(PositionEncoding.Learned)]
    [InlineData(PositionEncoding.Rotary)]
    public void LastOnly_GivesTheLastPositionsLogits(PositionEncoding pe)
    {
        var model = new Gpt(new GptConfig(VocabSize: 11, BlockSize: 8, NLayer: 2, NHead: 2, NEmbd: 16, PositionEncoding: pe), seed: 3);
        model.eval();
        using var _ = no_grad();
        var idx = tensor(new long[] { 1, 4, 2, 7, 3, 3, 9, 0, 5, 1, 2, 8 }, [2, 6]);
        var all = model.Forward(idx, cache: null);                                       // (2, 6, 11)
        var last = model.Forward(idx, cache: null, lastOnly: true);                      // (2, 1, 11)
        Assert.Equal(new long[] { 2, 1, 11 }, last.shape);
        Compare.Close(all.narrow(1, 5, 1), last, 1e-6);
    }

    [Fact]
    public void TooLongSequence_IsRejectedWithBothSizes()
    {
        var model = new Gpt(Tiny());
        var ex = Assert.Throws<ArgumentException>(() => model.call(zeros(new long[] { 1, 9 }, int64)));
        Assert.Contains("9", ex.Message);
        Assert.Contains("block_size 8", ex.Message);
    }
}
