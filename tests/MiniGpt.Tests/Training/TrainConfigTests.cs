using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Training;

public class TrainConfigTests
{
    static readonly string Configs = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "configs");

    static ConfigException Fails(string json, params (string, string)[] overrides)
    {
        using var dir = new TempDir();
        var path = dir.File("c.json", json);
        return Assert.Throws<ConfigException>(() => TrainConfigBinder.Load(path, overrides.Select(o => new KeyValuePair<string, string>(o.Item1, o.Item2)).ToList()));
    }

    [Theory]
    [InlineData("shakespeare-char-cpu.json")]
    [InlineData("shakespeare-char.json")]
    [InlineData("tiny.json")]
    public void ShippedConfigs_Load(string file)
    {
        var c = TrainConfigBinder.Load(Path.Combine(Configs, file), []);
        Assert.Empty(c.Problems());
    }

    [Fact]
    public void CpuRecipe_IsNanoGptsShakespeareCharCpuSettings()
    {
        var c = TrainConfigBinder.Load(Path.Combine(Configs, "shakespeare-char-cpu.json"), []);
        Assert.Equal((4, 4, 128, 64, 12, 2000, 2000), (c.NLayer, c.NHead, c.NEmbd, c.BlockSize, c.BatchSize, c.MaxIters, c.LrDecayIters));
        Assert.Equal((0.0, 20, 1e-3, 1e-4, 0.99, 100), (c.Dropout, c.EvalIters, c.LearningRate, c.MinLr, c.Beta2, c.WarmupIters));
    }

    [Fact]
    public void Overrides_WinOverTheFile_AndAreTyped()
    {
        using var dir = new TempDir();
        var path = dir.File("c.json", """{ "max_iters": 100, "dropout": 0.1 }""");
        var c = TrainConfigBinder.Load(path, [new("max_iters", "200"), new("bias", "true"), new("learning_rate", "6e-4")]);
        Assert.Equal(200, c.MaxIters);
        Assert.True(c.Bias);
        Assert.Equal(6e-4, c.LearningRate);
        Assert.Equal(0.1, c.Dropout);
    }

    [Fact]
    public void UnknownKey_IsNamed_WithASuggestion()
    {
        var ex = Fails("""{ "n_layr": 4 }""");
        Assert.Contains("unknown key 'n_layr' (did you mean 'n_layer'?)", ex.Message);
        Assert.Contains("unknown key 'colour'", Fails("{}", ("colour", "red")).Message);
    }

    [Fact]
    public void WrongType_IsNamed_WithTheValue()
    {
        Assert.Contains("n_layer = \"four\": expected an integer", Fails("""{ "n_layer": "four" }""").Message);
        Assert.Contains("n_layer = 4.5: expected an integer", Fails("""{ "n_layer": 4.5 }""").Message);
        Assert.Contains("bias = 'maybe': expected true or false", Fails("{}", ("bias", "maybe")).Message);
    }

    [Theory]
    [InlineData("n_embd", "130", "n_embd = 130: must be divisible by n_head (4)")]
    [InlineData("learning_rate", "0", "learning_rate = 0: must be > 0")]
    [InlineData("learning_rate", "-1e-3", "learning_rate = -0.001: must be > 0")]
    [InlineData("dropout", "1", "dropout = 1: must be in [0, 1)")]
    [InlineData("dropout", "-0.1", "dropout = -0.1: must be in [0, 1)")]
    [InlineData("device", "tpu", "device = tpu: must be auto, cpu or cuda")]
    [InlineData("dtype", "float16", "dtype = float16: must be float32 or bfloat16")]
    [InlineData("lr_decay_iters", "50", "lr_decay_iters = 50: must exceed warmup_iters (100)")]
    [InlineData("tokenizer", "words", "tokenizer = words: must be one of")]
    public void BadValues_AreNamed(string key, string value, string message)
        => Assert.Contains(message, Fails("""{ "n_head": 4, "warmup_iters": 100 }""", (key, value)).Message);

    [Fact]
    public void BlockSizeLargerThanASplit_FailsBeforeTraining_NamingBoth()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { BlockSize = 5000, ValFraction = 0.05 };
        var ex = Assert.Throws<ConfigException>(() => new Trainer(c));
        Assert.Contains("block_size = 5000", ex.Message);
        Assert.Contains("block_size + 1 = 5001", ex.Message);
    }

    [Fact]
    public void MalformedJson_IsReportedWithTheFile()
    {
        var ex = Fails("""{ "n_layer": 4, """);
        Assert.Contains("c.json", ex.Message);
        Assert.Contains("not valid JSON", ex.Message);
    }
}
