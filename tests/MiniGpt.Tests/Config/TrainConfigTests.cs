using System.Text.Json;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Config;

public class TrainConfigTests
{
    static readonly string Configs = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "configs");
    static readonly ConfigSchema<TrainConfig> Schema = TrainConfig.Schema;

    static List<KeyValuePair<string, string>> Overrides((string, string)[] pairs) => pairs.Select(o => new KeyValuePair<string, string>(o.Item1, o.Item2)).ToList();

    /// <summary>The problems of a config file plus overrides, each as "origin: key = value: rule".</summary>
    static List<string> Fails(TempDir dir, string json, params (string, string)[] overrides)
    {
        var path = dir.File("c.json", json);
        var ex = Assert.Throws<ConfigException>(() => Schema.Load(path, Overrides(overrides)));
        return ex.Problems.Select(p => p.ToString()).ToList();
    }

    /// <summary>The one problem of a valid base plus one override, without its origin.</summary>
    static string Problem(string key, string value)
    {
        var ex = Assert.Throws<ConfigException>(() => Schema.Load(null, [new("n_head", "4"), new("warmup_iters", "100"), new(key, value)]));
        return Assert.Single(ex.Problems).Setting;
    }

    [Theory]
    [InlineData("shakespeare-char-cpu.json")]
    [InlineData("shakespeare-char.json")]
    [InlineData("tiny.json")]
    [InlineData("finetune-shakespeare.json")]
    public void ShippedConfigs_BindEveryKeyTheyName(string file)
    {
        var path = Path.Combine(Configs, file);
        var c = Schema.Load(path, []);
        using var given = JsonDocument.Parse(File.ReadAllText(path));
        using var bound = JsonDocument.Parse(Schema.ToJson(c));
        foreach (var key in given.RootElement.EnumerateObject())
            Assert.True(SameValue(key.Value, bound.RootElement.GetProperty(key.Name)), $"{key.Name}: file has {key.Value}, config has {bound.RootElement.GetProperty(key.Name)}");
    }

    static bool SameValue(JsonElement a, JsonElement b) => a.ValueKind == JsonValueKind.Number
        ? b.ValueKind == JsonValueKind.Number && a.GetDouble() == b.GetDouble()
        : a.GetRawText() == b.GetRawText();

    [Fact]
    public void CpuRecipe_IsNanoGptsShakespeareCharCpuSettings_WithRotaryPositions()
    {
        var c = Schema.Load(Path.Combine(Configs, "shakespeare-char-cpu.json"), []);
        Assert.Equal((4, 4, 128, 64, 12, 2000, 2000), (c.NLayer, c.NHead, c.NEmbd, c.BlockSize, c.BatchSize, c.MaxIters, c.LrDecayIters));
        Assert.Equal((0.0, 20, 1e-3, 1e-4, 0.99, 100), (c.Dropout, c.EvalIters, c.LearningRate, c.MinLr, c.Beta2, c.WarmupIters));
        Assert.Equal((PositionEncoding.Rotary, DeviceKind.Cpu, Precision.Float32, TokenizerKind.Char), (c.PositionEncoding, c.Device, c.Dtype, c.Tokenizer));
    }

    [Fact]
    public void FinetuneConfig_IsNanoGptsFinetuneShakespeare()
    {
        var c = Schema.Load(Path.Combine(Configs, "finetune-shakespeare.json"), []);
        Assert.Equal(("gpt2", 1, 32, 3e-5, false, 20, 0.1), (c.InitFrom, c.BatchSize, c.GradientAccumulationSteps, c.LearningRate, c.DecayLr, c.MaxIters, c.Dropout));
        Assert.Equal((TokenizerKind.Bpe, 1024), (c.Tokenizer, c.BlockSize));
    }

    [Fact]
    public void Overrides_WinOverTheFile_AndAreTyped()
    {
        using var dir = new TempDir();
        var path = dir.File("c.json", """{ "max_iters": 100, "dropout": 0.1, "device": "cpu" }""");
        var c = Schema.Load(path, [new("max_iters", "200"), new("bias", "true"), new("learning_rate", "6e-4"), new("device", "CUDA"), new("dtype", "bfloat16")]);
        Assert.Equal((200, true, 6e-4, 0.1), (c.MaxIters, c.Bias, c.LearningRate, c.Dropout));
        Assert.Equal((DeviceKind.Cuda, Precision.BFloat16), (c.Device, c.Dtype));   // choices ignore case
    }

    [Fact]
    public void AnOverride_SetsAKeyThatMayBeNullBackToNone()
    {
        // val_documents 3 in a file could not be undone on the command line: 'none' was "expected an integer".
        using var dir = new TempDir();
        var path = dir.File("c.json", """{ "val_documents": 3 }""");
        Assert.Null(Schema.Load(path, [new("val_documents", "none")]).ValDocuments);
        Assert.Null(Schema.Load(path, [new("val_documents", "null")]).ValDocuments);
        Assert.Equal(["val_documents = 'three': expected an integer, or none"], Fails(dir, """{ "val_documents": 3 }""", ("val_documents", "three")));
    }

    [Fact]
    public void UnknownKeys_AreNamed_WithASuggestion_AndWhereTheyCameFrom()
    {
        using var dir = new TempDir();
        var problems = Fails(dir, """{ "n_layr": 4 }""", ("flavour", "red"));
        Assert.Equal([$"{dir.Path}/c.json: n_layr: unknown key (did you mean 'n_layer'?)", "flavour: unknown key"], problems);
    }

    [Fact]
    public void AKeyOfMegabytes_IsNamedCutShort_WithoutComparingItToEveryKey()
    {
        // Compared letter by letter with every key, a key of 3 MB took 4.6 s and 1.2 GB, and its error was a line of 3 MB; half a million letters, 0.6 GB.
        using var dir = new TempDir();
        var key = new string('k', 500_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var problems = Fails(dir, $$"""{ "{{key}}": 1 }""");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 200 << 20, "no edit-distance table of the key");
        Assert.Equal($"{dir.Path}/c.json: {new string('k', 200)}… (500,000 characters): unknown key", Assert.Single(problems));
    }

    [Fact]
    public void AConfigFileOfMoreThanAMegabyte_IsRefused_ReadNoFurther()
    {
        using var dir = new TempDir();
        var path = dir.File("c.json", "{" + new string(' ', ConfigSchema<TrainConfig>.MaxConfigChars) + "}");
        var ex = Assert.Throws<DataException>(() => Schema.Load(path, []));
        Assert.Equal($"{path}: more than 1,048,576 characters, more than a config may have", ex.Message);
    }

    [Fact]
    public void WrongTypes_AreNamed_WithTheValueAsGiven()
    {
        using var dir = new TempDir();
        var file = $"{dir.Path}/c.json: ";
        Assert.Equal([file + "n_layer = 'four': expected an integer", file + "dropout = true: expected a number", file + "bias = 1: expected true or false"],
            Fails(dir, """{ "n_layer": "four", "dropout": true, "bias": 1 }"""));
        Assert.Equal([file + "n_layer = 4.5: expected an integer"], Fails(dir, """{ "n_layer": 4.5 }"""));
        Assert.Equal([file + "out_dir = null: expected a string"], Fails(dir, """{ "out_dir": null }"""));
        Assert.Equal(["bias = 'maybe': expected true or false", "seed = '1e3': expected an integer"], Fails(dir, "{}", ("bias", "maybe"), ("seed", "1e3")));
    }

    [Theory]
    [InlineData("device", "gpu", "device = 'gpu': expected one of auto, cpu or cuda")]
    [InlineData("dtype", "float16", "dtype = 'float16': expected one of float32 or bfloat16")]
    [InlineData("tokenizer", "words", "tokenizer = 'words': expected one of char, cl100k_base, o200k_base or bpe")]
    [InlineData("position_encoding", "alibi", "position_encoding = 'alibi': expected one of learned, sinusoidal or rotary")]
    [InlineData("activation", "relu", "activation = 'relu': expected one of gelu or gelu_tanh")]
    public void UnknownChoices_ListTheValidOnes(string key, string value, string problem)
    {
        using var dir = new TempDir();
        Assert.Equal([problem], Fails(dir, "{}", (key, value)));
    }

    [Theory]
    [InlineData("n_layer", "0", "n_layer = 0: must be in [1, 1024]")]
    [InlineData("n_embd", "130", "n_embd = 130: must be divisible by n_head (4)")]
    [InlineData("learning_rate", "0", "learning_rate = 0: must be in (0, 10]")]
    [InlineData("learning_rate", "-1e-3", "learning_rate = -0.001: must be in (0, 10]")]
    [InlineData("learning_rate", "Infinity", "learning_rate = Infinity: must be a finite number")]
    [InlineData("weight_decay", "1e999", "weight_decay = Infinity: must be a finite number")]
    [InlineData("dropout", "1", "dropout = 1: must be in [0, 1)")]
    [InlineData("dropout", "-0.1", "dropout = -0.1: must be in [0, 1)")]
    [InlineData("val_fraction", "0", "val_fraction = 0: must be in (0, 1)")]
    [InlineData("min_lr", "0.01", "min_lr = 0.01: must not exceed learning_rate (0.001)")]
    [InlineData("lr_decay_iters", "50", "lr_decay_iters = 50: must exceed warmup_iters (100)")]
    [InlineData("max_iters", "3000000000", "max_iters = '3000000000': must be in [0, 2147483647]")]   // was "expected an integer"
    [InlineData("n_layer", "99999999999", "n_layer = '99999999999': must be in [1, 1024]")]
    [InlineData("max_iters", "3e9", "max_iters = '3e9': expected an integer")]
    [InlineData("out_dir", " ", "out_dir = ' ': must not be empty")]
    [InlineData("data_dir", "a\0b", "data_dir = 'a\\u0000b': must not hold a NUL character (no path or field name can)")]   // was an internal error
    [InlineData("out_dir", "x\0", "out_dir = 'x\\u0000': must not hold a NUL character (no path or field name can)")]
    public void BadValues_AreNamed(string key, string value, string problem) => Assert.Equal(problem, Problem(key, value));

    [Fact]
    public void WithoutDecay_TheScheduleKeysItDoesNotUse_AreNotChecked()
    {
        // min_lr is the decay's floor: a constant rate below it was refused, though it was never used.
        var c = Schema.Load(null, [new("decay_lr", "false"), new("learning_rate", "1e-5"), new("min_lr", "1e-4"), new("lr_decay_iters", "0")]);
        Assert.Equal((1e-5, 1e-4), (c.LearningRate, c.MinLr));
        Assert.Equal("min_lr = 0.0001: must not exceed learning_rate (1E-05)", Problem("learning_rate", "1e-5"));
    }

    [Fact]
    public void ALongValue_IsShownCutShort()
        => Assert.Equal($"data_dir = '{new string('d', 200)}'… (301 characters): must not hold a NUL character (no path or field name can)",
            Problem("data_dir", new string('d', 300) + "\0"));

    [Fact]
    public void PositionEncodings_AddTheirOwnRules()
    {
        var sinusoidal = Assert.Throws<ConfigException>(() => Schema.Load(null, [new("position_encoding", "sinusoidal"), new("n_embd", "9"), new("n_head", "3")]));
        Assert.Equal("n_embd = 9: must be even for sinusoidal positions", Assert.Single(sinusoidal.Problems).Setting);
        var rotary = Assert.Throws<ConfigException>(() => Schema.Load(null, [new("position_encoding", "rotary"), new("n_embd", "12"), new("n_head", "4")]));
        Assert.Equal("n_embd = 12: must give an even head size for rotary positions (n_embd / n_head = 3)", Assert.Single(rotary.Problems).Setting);
        Assert.Equal(PositionEncoding.Rotary, Schema.Load(null, [new("position_encoding", "rotary"), new("n_embd", "12"), new("n_head", "3")]).PositionEncoding);
    }

    [Fact]
    public void ProblemsFromTheFile_NameIt_ThoseFromOverrides_DoNot()
    {
        using var dir = new TempDir();
        Assert.Equal(["n_layer = 0: must be in [1, 1024]", $"{dir.Path}/c.json: dropout = 1.5: must be in [0, 1)"],
            Fails(dir, """{ "dropout": 1.5, "n_layer": 4 }""", ("n_layer", "0")));
    }

    [Fact]
    public void ARuleBetweenKeys_NamesTheFile_OnlyWhenNoneOfItsKeysWasOverridden()
    {
        using var dir = new TempDir();
        Assert.Equal(["n_embd = 16: must be divisible by n_head (3)"], Fails(dir, """{ "n_embd": 16, "n_head": 2 }""", ("n_head", "3")));
        Assert.Equal([$"{dir.Path}/c.json: n_embd = 16: must be divisible by n_head (3)"], Fails(dir, """{ "n_embd": 16, "n_head": 3 }"""));
    }

    [Fact]
    public void AKeyGivenTwice_IsAnError_InTheFileAndOnTheCommandLine()
    {
        using var dir = new TempDir();
        Assert.Equal([$"{dir.Path}/c.json: n_layer: given twice"], Fails(dir, """{ "n_layer": 2, "n_layer": 3 }"""));
        Assert.Equal(["max_iters: given twice on the command line"], Fails(dir, "{}", ("max_iters", "1"), ("max_iters", "2")));
    }

    [Fact]
    public void MalformedJson_IsReportedWithTheFile()
    {
        using var dir = new TempDir();
        var problem = Assert.Single(Fails(dir, """{ "n_layer": 4, """));
        Assert.StartsWith($"{dir.Path}/c.json: not valid JSON: ", problem);
        Assert.Equal([$"{dir.Path}/c.json: the top level must be a JSON object"], Fails(dir, "[1, 2]"));
    }

    [Fact]
    public void MissingFile_IsADataError_NamingIt()
        => Assert.Equal("/nope/c.json", Assert.Throws<DataException>(() => Schema.Load("/nope/c.json", [])).Path);

    [Fact]
    public void Defaults_AreValid_AndEveryKeyIsDescribed()
    {
        Assert.Empty(Schema.Problems(new TrainConfig()));
        Assert.Equal(Schema.Keys.Count, Schema.Keys.Select(k => k.Name).Distinct().Count());
        Assert.All(Schema.Keys, k => Assert.False(string.IsNullOrWhiteSpace(k.Description), k.Name));
        // A settable property without a [Key] would be neither bound, validated, listed nor stored.
        var settable = typeof(TrainConfig).GetProperties().Where(p => p.SetMethod is { IsPublic: true }).Select(p => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));
        Assert.Equal(settable.Order(), Schema.Keys.Select(k => k.Name).Order());
    }

    [Fact]
    public void ArchitectureKeys_AreThoseTheWeightsFix()
        => Assert.Equal(["tokenizer", "block_size", "n_layer", "n_head", "n_embd", "bias", "position_encoding", "activation", "n_inner", "layer_norm_epsilon"],
            Schema.Keys.Where(k => k.Architecture).Select(k => k.Name));

    [Fact]
    public void Json_RoundTripsEveryKey()
    {
        var c = new TrainConfig
        {
            Corpus = null, Tokenizer = TokenizerKind.O200kBase, PositionEncoding = PositionEncoding.Sinusoidal, Device = DeviceKind.Cpu,
            Dtype = Precision.BFloat16, InitFrom = "models/gpt2", LearningRate = 6e-4, Seed = long.MaxValue, PeakFlops = 312e12, EvalOnly = true,
            Activation = Activation.GeluTanh, NInner = 100, LayerNormEpsilon = 1e-6,
        };
        var json = Schema.ToJson(c);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(Schema.Keys.Select(k => k.Name), doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("o200k_base", doc.RootElement.GetProperty("tokenizer").GetString());
        Assert.Equal("gelu_tanh", doc.RootElement.GetProperty("activation").GetString());
        Assert.Equal(c, Schema.FromJson(doc.RootElement, "test"));
    }

    [Fact]
    public void AStoredConfig_IsValidatedLikeAFile()
    {
        using var doc = JsonDocument.Parse(Schema.ToJson(new TrainConfig()).Replace("\"n_layer\": 4", "\"n_layer\": 0"));
        var ex = Assert.Throws<ConfigException>(() => Schema.FromJson(doc.RootElement, "checkpoint x.ckpt"));
        Assert.Equal("checkpoint x.ckpt: n_layer = 0: must be in [1, 1024]", Assert.Single(ex.Problems).ToString());
    }

    [Fact]
    public void Differences_ListOnlyTheSelectedKeysThatDiffer()
    {
        var a = new TrainConfig();
        var b = a with { NLayer = 6, Dropout = 0.2, PositionEncoding = PositionEncoding.Rotary };
        Assert.Equal([("n_layer", (object?)4, (object?)6), ("position_encoding", PositionEncoding.Learned, PositionEncoding.Rotary)],
            Schema.Differences(a, b, k => k.Architecture).Select(d => (d.Key.Name, d.A, d.B)));
        Assert.Empty(Schema.Differences(a, a with { Dropout = 0.2 }, k => k.Architecture));
    }

    [Fact]
    public void BlockSizeLargerThanASplit_FailsBeforeTraining_NamingBoth()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { BlockSize = 5000, ValFraction = 0.05 };
        var ex = Assert.Throws<ConfigException>(() => new Trainer(c));
        using var cache = TokenCache.Open(c.DataDir);
        Assert.True(cache.Train.Count > 5001);
        Assert.Equal($"block_size = 5000: the val split of {c.DataDir} holds {cache.Val.Count} tokens, fewer than block_size + 1 = 5001", Assert.Single(ex.Problems).Setting);
    }
}
