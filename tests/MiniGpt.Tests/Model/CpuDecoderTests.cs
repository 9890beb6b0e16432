using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;
using static MiniGpt.Tests.TestSupport.Compare;

namespace MiniGpt.Tests.Model;

public class CpuDecoderTests
{
    // Every parameter drawn at random, LayerNorm gains and all biases included: at their initial ones and zeros a
    // decoder that left them out would agree.
    static Gpt Model(GptConfig config)
    {
        var model = new Gpt(config, seed: 7);
        using var g = new Generator(11);
        using (no_grad()) foreach (var p in model.parameters()) p.normal_(0.0, 0.3, g);
        model.eval();
        return model;
    }

    static GptConfig Config(PositionEncoding pe, Activation act, bool bias, int block = 12, int? inner = null, double eps = 1e-5)
        => new(VocabSize: 17, BlockSize: block, NLayer: 2, NHead: 2, NEmbd: 12, Bias: bias, Fused: false,
               PositionEncoding: pe, Activation: act, NInner: inner, LayerNormEpsilon: eps);

    public static TheoryData<PositionEncoding, Activation, bool, int?, double> Shapes => new()
    {
        { PositionEncoding.Learned, Activation.Gelu, true, null, 1e-5 },
        { PositionEncoding.Sinusoidal, Activation.GeluTanh, false, null, 1e-5 },
        { PositionEncoding.Rotary, Activation.Gelu, true, 20, 1e-3 },
        { PositionEncoding.Rotary, Activation.GeluTanh, false, null, 1e-5 },
    };

    /// <summary>Logits (B, T, V) of the modules' explicit formulas over whole sequences, no cache.</summary>
    static float[] Reference(Gpt model, long[,] ids)
    {
        using var _ = no_grad();
        using var logits = model.call(tensor(ids));
        return logits.contiguous().data<float>().ToArray();
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EachStep_GivesTheModulesLogits(PositionEncoding pe, Activation act, bool bias, int? inner, double eps)
    {
        var config = Config(pe, act, bias, inner: inner, eps: eps);
        var model = Model(config);
        int T = config.BlockSize, V = config.VocabSize;
        var ids = new long[1, T];
        var random = new Random(3);
        for (int t = 0; t < T; t++) ids[0, t] = random.Next(V);
        var expected = Reference(model, ids);                                                       // (1, T, V)

        var decoder = new CpuDecoder(model, T);
        var logits = new float[V];
        double worst = 0;
        for (int t = 0; t < T; t++)
        {
            decoder.Step((int)ids[0, t], logits);
            for (int v = 0; v < V; v++) worst = Math.Max(worst, Math.Abs(logits[v] - expected[t * V + v]));
        }
        Assert.Equal(T, decoder.Length);
        Assert.True(worst <= 2e-5, $"the decoder's logits differ from the modules' by {worst:E2}");
    }

    [Fact]
    public void AfterLoadingAPromptsCache_GoesOnAsTheModules()
    {
        var config = Config(PositionEncoding.Rotary, Activation.Gelu, bias: true);
        var model = Model(config);
        long[,] ids = { { 3, 1, 4, 1, 5, 9, 2, 6 } };
        var expected = Reference(model, ids);                                                       // (1, 8, V)
        using var cache = new KvCache(config, 1, 8, float32, CPU);
        using (no_grad()) model.Forward(tensor(new long[,] { { 3, 1, 4, 1, 5 } }), cache);            // the prompt, in one pass
        var decoder = new CpuDecoder(model, 8);
        decoder.Load(cache);
        Assert.Equal(5, decoder.Length);
        var logits = new float[config.VocabSize];
        double worst = 0;
        for (int t = 5; t < 8; t++)
        {
            decoder.Step((int)ids[0, t], logits);
            for (int v = 0; v < config.VocabSize; v++) worst = Math.Max(worst, Math.Abs(logits[v] - expected[t * config.VocabSize + v]));
        }
        Assert.True(worst <= 2e-5, $"after the prompt's cache, the decoder's logits differ from the modules' by {worst:E2}");
    }

    [Fact]
    public void ItsCacheGrowsPast256Positions()
    {
        // The cache starts at 256 positions and doubles up to capacity: a step past a wrong resize would read zeros.
        var config = new GptConfig(VocabSize: 5, BlockSize: 300, NLayer: 1, NHead: 1, NEmbd: 4, PositionEncoding: PositionEncoding.Rotary, Fused: false);
        var model = Model(config);
        var ids = new long[1, 300];
        for (int t = 0; t < 300; t++) ids[0, t] = (t * 7 + t / 3) % 5;
        var expected = Reference(model, ids);
        var decoder = new CpuDecoder(model, 300);
        var logits = new float[5];
        double worst = 0;
        for (int t = 0; t < 300; t++)
        {
            decoder.Step((int)ids[0, t], logits);
            for (int v = 0; v < 5; v++) worst = Math.Max(worst, Math.Abs(logits[v] - expected[t * 5 + v]));
        }
        Assert.True(worst <= 2e-5, $"past 256 positions the decoder's logits differ from the modules' by {worst:E2}");
        Assert.Throws<InvalidOperationException>(() => decoder.Step(0, logits));   // its 300 positions are held
    }

    [Fact]
    public void AnIdOutsideTheVocabulary_IsRefused()
    {
        var decoder = new CpuDecoder(Model(Config(PositionEncoding.Learned, Activation.Gelu, bias: false)), 4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Step(17, new float[17]));
        Assert.Contains("id 17 is outside the vocabulary of 17", e.Message);
    }

    [Fact]
    public void AModelInAComputeDtype_IsNotSupported()
    {
        var model = Model(Config(PositionEncoding.Learned, Activation.Gelu, bias: false));
        Assert.True(CpuDecoder.Supports(model));
        model.UseComputeDtype(bfloat16);
        Assert.False(CpuDecoder.Supports(model));
        Assert.Throws<ArgumentException>(() => new CpuDecoder(model, 4));
    }
}
