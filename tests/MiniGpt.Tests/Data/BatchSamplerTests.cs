using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Data;

public class BatchSamplerTests
{
    static TokenFileReader Tokens(TempDir dir, int count)
    {
        var path = dir.File("t.bin");
        using (var w = new TokenFileWriter(path, 2))
        {
            w.Write(Enumerable.Range(0, count).Select(i => (i * 7919) % 1000).ToArray());
            w.Complete();
        }
        return new TokenFileReader(path);
    }

    [Fact]
    public void YIsXShiftedByOne_AndBothAreWindowsOfTheFile()
    {
        using var dir = new TempDir();
        using var tokens = Tokens(dir, 5000);
        var all = tokens.ReadAll();
        var sampler = new BatchSampler(tokens, batchSize: 8, blockSize: 16, seed: 1);
        for (int n = 0; n < 20; n++)
        {
            var (x, y) = sampler.Next();
            Assert.Equal(new long[] { 8, 16 }, x.shape);
            Assert.Equal(ScalarType.Int64, x.dtype);
            for (int b = 0; b < 8; b++)
            {
                var xs = x[b].data<long>().ToArray();
                var ys = y[b].data<long>().ToArray();
                Assert.Equal(xs.Skip(1), ys.Take(15));
                int start = Enumerable.Range(0, all.Length - 16).First(i => all.AsSpan(i, 16).SequenceEqual(xs));
                Assert.Equal(all[start + 16], ys[15]);
            }
        }
    }

    [Fact]
    public void AnIdPastTheVocabulary_IsNamedWhereItIs_WhenTheSamplerKnowsTheVocabulary()
    {
        // The cache's own record can say its ids were checked; a crafted one made an id past the embedding libtorch's error.
        using var dir = new TempDir();
        using var tokens = Tokens(dir, 5000);
        var all = tokens.ReadAll();
        Assert.All(Enumerable.Range(0, 5), _ => new BatchSampler(tokens, 4, 16, seed: 3, vocabSize: 1000).Next());
        var ex = Assert.Throws<DataException>(() => new BatchSampler(tokens, 4, 16, seed: 3, vocabSize: 500).Next());
        var m = System.Text.RegularExpressions.Regex.Match(ex.Message, $@"^{System.Text.RegularExpressions.Regex.Escape(tokens.Path)}: token (\d+) has id (\d+), outside the vocabulary of 500$");
        Assert.True(m.Success, ex.Message);
        Assert.Equal(all[long.Parse(m.Groups[1].Value)], long.Parse(m.Groups[2].Value));
        Assert.True(long.Parse(m.Groups[2].Value) >= 500);
    }

    [Fact]
    public void SameSeed_SameBatches_DifferentSeed_DifferentBatches()
    {
        using var dir = new TempDir();
        using var tokens = Tokens(dir, 5000);
        var a = new BatchSampler(tokens, 4, 8, seed: 42);
        var b = new BatchSampler(tokens, 4, 8, seed: 42);
        var c = new BatchSampler(tokens, 4, 8, seed: 43);
        for (int n = 0; n < 10; n++)
        {
            var (xa, _) = a.Next();
            var (xb, _) = b.Next();
            var (xc, _) = c.Next();
            Assert.True(xa.equal(xb).all().item<bool>());
            if (n == 0) Assert.False(xa.equal(xc).all().item<bool>());
        }
    }

    [Fact]
    public void ABatchDrawnInPieces_IsTheBatchDrawnWhole()
    {
        using var dir = new TempDir();
        using var tokens = Tokens(dir, 5000);
        var whole = new BatchSampler(tokens, 7, 8, seed: 42);
        var pieces = new BatchSampler(tokens, 7, 8, seed: 42);
        for (int n = 0; n < 3; n++)
        {
            var (x, y) = whole.Next();
            var parts = new[] { 3, 3, 1 }.Select(r => pieces.Next(r)).ToList();
            Assert.True(x.equal(cat(parts.Select(p => p.X).ToArray(), 0)).all().item<bool>());
            Assert.True(y.equal(cat(parts.Select(p => p.Y).ToArray(), 0)).all().item<bool>());
        }
    }

    [Fact]
    public void SavedState_ResumesTheSameSequence()
    {
        using var dir = new TempDir();
        using var tokens = Tokens(dir, 5000);
        var a = new BatchSampler(tokens, 4, 8, seed: 7);
        for (int n = 0; n < 5; n++) a.Next();
        var state = a.State;
        var expected = Enumerable.Range(0, 5).Select(_ => a.Next().X).ToList();
        var b = new BatchSampler(tokens, 4, 8, seed: 999) { State = state };
        foreach (var x in expected) Assert.True(x.equal(b.Next().X).all().item<bool>());
    }

    [Fact]
    public void SplitTooSmallForOneBlock_NamesBothSizes()
    {
        using var dir = new TempDir();
        using var tokens = Tokens(dir, 64);
        var ex = Assert.Throws<ArgumentException>(() => new BatchSampler(tokens, 1, blockSize: 64, seed: 1));
        Assert.Contains("64 tokens", ex.Message);
        Assert.Contains("block_size + 1 = 65", ex.Message);
        _ = new BatchSampler(tokens, 1, blockSize: 63, seed: 1);   // exactly enough
    }

    [Fact]
    public void Offsets_CoverTheWholeRange()
    {
        var rng = new Xoshiro256(3);
        var seen = new bool[10];
        for (int i = 0; i < 1000; i++) seen[rng.NextInt64(10)] = true;
        Assert.All(seen, Assert.True);
    }
}
