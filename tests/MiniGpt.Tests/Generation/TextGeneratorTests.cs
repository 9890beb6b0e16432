using MiniGpt.Generation;
using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Generation;

public class TextGeneratorTests
{
    static Gpt Model(PositionEncoding pe = PositionEncoding.Learned, bool fused = true, int nEmbd = 16, int nLayer = 2)
        => new(new GptConfig(VocabSize: 13, BlockSize: 8, NLayer: nLayer, NHead: 2, NEmbd: nEmbd, Fused: fused, PositionEncoding: pe), seed: 5);

    // 3 × 384-wide layers, 21 MB of float32 weights: too big for TextGenerator to count on the cache, so it slices rows.
    static Gpt LargeModel() => Model(PositionEncoding.Rotary, fused: true, nEmbd: 384, nLayer: 3);

    [Theory]
    [InlineData(PositionEncoding.Learned, true)]
    [InlineData(PositionEncoding.Learned, false)]
    [InlineData(PositionEncoding.Rotary, true)]
    [InlineData(PositionEncoding.Rotary, true, true)]   // each cached step through Linear.SlicedRows
    public void KvCache_GivesTheSameLogitsAtEveryStep_PastBlockSizeToo(PositionEncoding pe, bool fused, bool large = false)
    {
        var model = large ? LargeModel() : Model(pe, fused);
        // Greedy, so both paths pick the same tokens as long as their logits agree.
        var greedy = new SamplingOptions(Temperature: 0);
        var cached = new TextGenerator(model, useKvCache: true).GenerateWithLogits([1, 2, 3], 20, greedy, new Generator(1)).ToList();
        var plain = new TextGenerator(model, useKvCache: false).GenerateWithLogits([1, 2, 3], 20, greedy, new Generator(1)).ToList();
        Assert.Equal(plain.Select(p => p.Id), cached.Select(c => c.Id));   // 3 + 20 tokens: past block_size 8
        double worst = cached.Zip(plain).Max(p => Compare.MaxAbsDiff(p.First.Logits, p.Second.Logits));
        Assert.True(worst <= 1e-5, $"cached and uncached logits differ by {worst:E2}");
    }

    [Theory]
    [InlineData(2, 3, 4)]     // the prompt and the new tokens fed back: the cache is full at the last step
    [InlineData(3, 20, 8)]    // block_size 8, reached
    [InlineData(12, 2, 8)]    // a prompt past block_size keeps its last block
    [InlineData(1, 1, 1)]
    [InlineData(3, 0, 3)]
    public void TheCache_HoldsThePromptsLastBlockAndTheNewTokens_AtMostBlockSize(int prompt, int newTokens, long positions)
    {
        // A cache of block_size whatever the sample: a checkpoint's block_size of 2^20 asked 4 GB for five tokens.
        var model = Model();
        var greedy = new SamplingOptions(Temperature: 0);
        var ids = Enumerable.Range(1, prompt).Select(i => i % 13).ToList();
        var generator = new TextGenerator(model, useKvCache: true);
        var cached = generator.Generate(ids, newTokens, greedy, new Generator(1)).ToList();
        Assert.Equal(positions, generator.CachePositions);
        Assert.Equal(new TextGenerator(model, useKvCache: false).Generate(ids, newTokens, greedy, new Generator(1)), cached);
    }

    [Fact]
    public void TheCacheGrowsWithThePositionsReached_KeepingWhatItHeld()
    {
        // A sample may ask for a million tokens of a model with a block of 2^20: memory for them all at the start
        // held gigabytes before the first one came.
        var layer = new LayerKvCache(B: 2, nh: 3, capacity: 1 << 20, hs: 4, float32, CPU);
        Assert.Equal(256, layer.Rows);
        var (ks, vs) = (randn(2, 3, 700, 4), randn(2, 3, 700, 4));
        Tensor K = null!, V = null!;
        foreach (var (from, T) in new long[][] { [0, 200], [200, 100], [300, 1], [301, 399] }.Select(a => (a[0], a[1])))
            using (NewDisposeScope())
            using (inference_mode())   // a sampling step's
                (K, V) = layer.Append(ks.narrow(2, from, T), vs.narrow(2, from, T)) is var (k, v) ? (k.clone().DetachFromDisposeScope(), v.clone().DetachFromDisposeScope()) : default;
        Assert.Equal((700L, 1024L), (layer.Length, layer.Rows));   // 256, then 512 at position 300, then 1024 at 700
        Assert.True(Compare.Identical(ks, K) && Compare.Identical(vs, V));
        layer.Append(ks.narrow(2, 0, 100), vs.narrow(2, 0, 100));   // outside inference mode, into rows grown inside it
        var (k2, _) = layer.Append(ks.narrow(2, 100, 600), vs.narrow(2, 100, 600));
        Assert.Equal((1400L, 2048L), (layer.Length, layer.Rows));
        Assert.True(Compare.Identical(cat([ks, ks], 2), k2));
    }

    [Theory]
    [InlineData(PositionEncoding.Learned)]
    [InlineData(PositionEncoding.Sinusoidal)]
    [InlineData(PositionEncoding.Rotary)]
    public void TheCpuDecoder_SamplesWhatTheModulesSample_PastBlockSizeToo(PositionEncoding pe)
    {
        var model = Model(pe);
        var o = new SamplingOptions(Temperature: 0.8, TopK: 6);
        double worst = 0;
        foreach (var seed in new ulong[] { 1, 2, 3 })
        {
            var a = new TextGenerator(model).GenerateWithLogits([1, 2, 3], 20, o, new Generator(seed)).ToList();   // 3 + 20 tokens: past block_size 8
            var b = new TextGenerator(model, cpuDecoder: false).GenerateWithLogits([1, 2, 3], 20, o, new Generator(seed)).ToList();
            Assert.Equal(b.Select(s => s.Id), a.Select(s => s.Id));
            worst = Math.Max(worst, a.Zip(b).Max(p => Compare.MaxAbsDiff(p.First.Logits, p.Second.Logits)));
        }
        Assert.True(worst <= 1e-5, $"the CPU decoder's logits differ from the modules' by {worst:E2}");
    }

    [Fact]
    public void TheCpuDecoder_RunsASmallFloat32ModelOnTheCpu_WithTheCache()
    {
        var small = Model();
        Assert.True(new TextGenerator(small).UsesCpuDecoder);
        Assert.False(new TextGenerator(small, useKvCache: false).UsesCpuDecoder);
        Assert.False(new TextGenerator(small, cpuDecoder: false).UsesCpuDecoder);
        Assert.False(new TextGenerator(LargeModel()).UsesCpuDecoder);   // 21 MB: streamed from memory, where the modules' products win
        var vocab = new Gpt(new GptConfig(VocabSize: CpuDecoder.MaxVocab + 1, BlockSize: 8, NLayer: 1, NHead: 2, NEmbd: 16));
        Assert.False(new TextGenerator(vocab).UsesCpuDecoder);           // a head of one dot product a row, against MKL's
        Assert.True(new TextGenerator(new Gpt(vocab.Config with { VocabSize = CpuDecoder.MaxVocab })).UsesCpuDecoder);
        small.UseComputeDtype(bfloat16);
        Assert.False(new TextGenerator(small).UsesCpuDecoder);
    }

    [Fact]
    public void TheCpuDecoder_FeedsEveryNewPositionButThePromptAndTheJumps_OfOneSample()
    {
        var model = Model();
        var o = new SamplingOptions(Temperature: 1.0);
        var generator = new TextGenerator(model);
        _ = generator.Generate([1, 2, 3], 5, o, new Generator(1)).ToList();
        Assert.Equal(4, generator.CpuDecoderSteps);    // the prompt through the modules, then 4 positions fed back
        _ = generator.Generate([1, 2, 3], 20, o, new Generator(1)).ToList();
        Assert.Equal(16, generator.CpuDecoderSteps);   // block_size 8: the window rebuilt through the modules at 3 jumps (new tokens 6, 11, 16)
        _ = generator.GenerateBatch([1, 2, 3], 5, o, [new Generator(1), new Generator(2)]).ToList();
        Assert.Equal(0, generator.CpuDecoderSteps);    // a batch shares the modules' calls
        var modules = new TextGenerator(model, cpuDecoder: false);
        _ = modules.Generate([1, 2, 3], 5, o, new Generator(1)).ToList();
        Assert.Equal(0, modules.CpuDecoderSteps);
    }

    [Fact]
    public void PastBlockSize_TheContextRestartsFromItsLastHalfBlock()
    {
        // block_size 8: after 3 prompt tokens and 5 generated ones the context is full; the next step sees
        // only the last 4 tokens, and the window then grows again to 8 before the next jump.
        var model = Model();
        model.eval();
        var steps = new TextGenerator(model).GenerateWithLogits([1, 2, 3], 7, new SamplingOptions(0), new Generator(1)).ToList();
        var context = new List<int> { 1, 2, 3 };
        context.AddRange(steps.Select(s => s.Id));
        using var _ = no_grad();
        Tensor LastLogits(IEnumerable<int> window)
        {
            var ids = window.Select(i => (long)i).ToArray();
            return model.call(tensor(ids, [1, ids.Length]))[0, -1];
        }
        Compare.Close(LastLogits(context.Take(8)), steps[5].Logits, 1e-5);             // 8 tokens: the full block
        Compare.Close(LastLogits(context.Skip(5).Take(4)), steps[6].Logits, 1e-5);      // 9 would not fit: last 4
    }

    [Fact]
    public void PromptLongerThanBlockSize_IsCroppedToItsLastBlock()
    {
        var model = Model();
        var greedy = new SamplingOptions(0);
        var prompt = Enumerable.Range(0, 12).Select(i => i % 13).ToList();      // 12 tokens, block_size 8
        var fromLong = new TextGenerator(model).GenerateWithLogits(prompt, 3, greedy, new Generator(1)).ToList();
        var fromLast = new TextGenerator(model).GenerateWithLogits(prompt.Skip(4).ToList(), 3, greedy, new Generator(1)).ToList();
        Assert.Equal(fromLast.Select(s => s.Id), fromLong.Select(s => s.Id));
        Compare.Close(fromLast[0].Logits, fromLong[0].Logits, 0);
    }

    [Fact]
    public void SameSeed_SameText_DifferentSeed_DifferentText()
    {
        var g = new TextGenerator(Model());
        var o = new SamplingOptions(Temperature: 1.0);
        var a = g.Generate([1], 40, o, new Generator(7)).ToList();
        var b = g.Generate([1], 40, o, new Generator(7)).ToList();
        var c = g.Generate([1], 40, o, new Generator(8)).ToList();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void TemperatureZero_IsArgmax()
    {
        var steps = new TextGenerator(Model()).GenerateWithLogits([4, 5], 12, new SamplingOptions(0), new Generator(1)).ToList();
        Assert.All(steps, s => Assert.Equal(s.Logits.argmax().item<long>(), s.Id));
    }

    [Fact]
    public void GenerationLeavesTheModelsTrainingModeAndTheGlobalGeneratorAlone()
    {
        var model = Model();
        model.train();
        manual_seed(3);
        var expected = rand(3);
        manual_seed(3);
        _ = new TextGenerator(model).Generate([1], 5, new SamplingOptions(1.0), new Generator(2)).ToList();
        Assert.True(model.training);
        Assert.True(expected.equal(rand(3)).all().item<bool>());
    }

    [Fact]
    public void ABatch_GivesEachSampleItsGeneratorAlone_WhateverTheBatchSize()
    {
        var model = Model(PositionEncoding.Rotary);
        var o = new SamplingOptions(Temperature: 1.0, TopK: 8);
        int[] Alone(ulong seed, bool cache)
        {
            using var g = new Generator(seed);
            return new TextGenerator(model, cache).Generate([1, 2], 25, o, g).ToArray();   // 2 + 25 tokens: past block_size 8
        }
        foreach (var cache in new[] { true, false })
        {
            var gs = new[] { new Generator(20), new Generator(21), new Generator(22) };
            var steps = new TextGenerator(model, cache).GenerateBatch([1, 2], 25, o, gs).ToList();
            for (int b = 0; b < 3; b++) Assert.Equal(Alone(20 + (ulong)b, cache), steps.Select(s => s[b]));
            Assert.NotEqual(steps.Select(s => s[0]), steps.Select(s => s[1]));
        }
    }

    [Fact]
    public void Sampling_UsesFusedKernelsOnOneThread_AndPutsTheModelAndTorchBack()
    {
        var model = Model(fused: false);
        int before = get_num_threads(), threads = 2;
        set_num_threads(threads);   // the test host may run torch on one thread; decoding must come back to two
        using var restore = new Disposer(() => set_num_threads(before));
        var g = new TextGenerator(model);
        Assert.Equal(1, g.DecodeThreads);   // a few kilobytes of weights on the CPU
        var explicitLogits = new TextGenerator(Model(fused: false), useKvCache: true, decodeThreads: threads).GenerateWithLogits([3], 6, new SamplingOptions(0), new Generator(1)).ToList();
        var steps = g.GenerateWithLogits([3], 6, new SamplingOptions(0), new Generator(1)).ToList();
        Assert.Equal(explicitLogits.Select(s => s.Id), steps.Select(s => s.Id));
        Assert.False(model.FusedKernels);
        Assert.All(model.modules().OfType<LayerNorm>(), l => Assert.False(l.Fused));
        Assert.Equal(threads, get_num_threads());
    }

    [Fact]
    public void ALargeModel_SlicesRowsWhileSampling_AndIsPutBack()
    {
        var model = LargeModel();
        Assert.False(model.SlicedRows);
        var g = new TextGenerator(model);
        Assert.True(g.SlicesRows);
        Assert.Null(g.DecodeThreads);   // every thread, to share the slices
        Assert.False(new TextGenerator(Model()).SlicesRows);
        var bf16 = LargeModel();
        bf16.UseComputeDtype(ScalarType.BFloat16);
        Assert.False(new TextGenerator(bf16).SlicesRows);   // its products are bfloat16 matmuls, never sliced
        using (var steps = g.Generate([1, 2], 3, new SamplingOptions(0), new Generator(1)).GetEnumerator())
        {
            Assert.True(steps.MoveNext());
            Assert.True(model.SlicedRows);
            Assert.All(model.modules().OfType<Linear>(), l => Assert.True(l.SliceRows));
        }
        Assert.False(model.SlicedRows);
        Assert.All(model.modules().OfType<Linear>(), l => Assert.False(l.SliceRows));
    }

    [Theory]
    [InlineData(true, double.NaN)]
    [InlineData(false, double.NaN)]
    [InlineData(true, double.PositiveInfinity)]
    public void WeightsThatAreNotFinite_AreReported_NotSampled(bool kvCache, double value)
    {
        var model = Model();
        using (no_grad()) model.named_parameters().First(p => p.name.StartsWith("ln_f")).parameter.fill_(value);
        var ex = Assert.Throws<NonFiniteLogitsException>(() => new TextGenerator(model, kvCache).Generate([1, 2], 5, new SamplingOptions(0.8), new Generator(1)).ToList());
        Assert.Equal("the model's logits are not finite at new token 1: its weights hold NaN or infinities, or its arithmetic overflowed", ex.Message);
    }

    sealed class Disposer(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
