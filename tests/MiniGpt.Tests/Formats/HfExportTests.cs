using System.Text.Json;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Formats;
using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Formats;

/// <summary>
/// Export writes what transformers loads: the golden export (Fixtures/minigpt_export, a model without biases and
/// with sinusoidal positions) read back by scripts/make_hf_fixtures.py gives MiniGpt's logits, and export then
/// import gives the same model back, bit for bit in float32.
/// </summary>
public class HfExportTests(ITestOutputHelper output)
{
    static readonly string GoldenExport = Path.Combine(AppContext.BaseDirectory, "Fixtures", "minigpt_export");
    const string Chars = "\n !',.:;?abcdefghijklmnopqrstuvwxyzT";

    /// <summary>A model whose every weight is random (γ near 1), so that a swapped or transposed tensor shows.</summary>
    internal static (Gpt Model, TrainConfig Config, ITokenizer Tokenizer) Model(bool bias, PositionEncoding positions, Activation activation, int? nInner = null)
    {
        var tokenizer = new CharTokenizer(Chars.EnumerateRunes().Select(r => r.Value));
        var config = new TrainConfig { BlockSize = 12, NLayer = 2, NHead = 2, NEmbd = 16, Bias = bias, PositionEncoding = positions, Activation = activation, NInner = nInner };
        var model = new Gpt(config.ToGptConfig(tokenizer.VocabSize), seed: 11);
        using var g = new TorchSharp.torch.Generator(5);
        using (no_grad())
            foreach (var (name, p) in model.UniqueParameters())
            {
                using var r = randn(p.shape, generator: g) * 0.2;
                p.copy_(name.Contains("ln_") && name.EndsWith("weight") ? r + 1 : r);
            }
        model.eval();
        return (model, config, tokenizer);
    }

    static Tensor Tokens() => tensor(new long[] { 3, 10, 14, 1, 20, 0, 35, 7, 9, 12, 2, 30, 4, 4, 5, 33, 1, 0, 21, 22 }).view(2, 10);

    [Fact]
    public void Export_ReadBackByTheReference_GivesMiniGptsLogits()
    {
        var (model, config, tokenizer) = Model(bias: false, PositionEncoding.Sinusoidal, Activation.Gelu);
        using var _ = model;
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "export");
        HfExport.Write(model, config, tokenizer, outDir, TensorDtype.F32);
        if (Environment.GetEnvironmentVariable("MINIGPT_UPDATE_GOLDEN_EXPORT") is { Length: > 0 } update)
        {
            // Regenerating: this writes the export and its tokens there, and scripts/make_hf_fixtures.py export adds golden.bin.
            Directory.CreateDirectory(update);
            foreach (var file in new[] { "model.safetensors", "config.json" }) File.Copy(Path.Combine(outDir, file), Path.Combine(update, file), overwrite: true);
            using var tokens = Tokens();
            File.WriteAllText(Path.Combine(update, "tokens.json"), JsonSerializer.Serialize(tokens.data<long>().ToArray().Chunk((int)tokens.shape[1])));
            return;
        }
        // The committed export is this one: the reference's logits below were computed from these very bytes.
        foreach (var file in new[] { "model.safetensors", "config.json" })
            Assert.True(File.ReadAllBytes(Path.Combine(GoldenExport, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(outDir, file))),
                $"{file} differs from the golden export; if the change is intended, regenerate it (see scripts/make_hf_fixtures.py)");

        var golden = GoldenFixture.Load(Path.Combine(GoldenExport, "golden.bin"));
        using var logits = model.call(Tokens());
        double diff = Compare.MaxAbsDiff(golden.Tensors["logits"], logits);
        output.WriteLine($"reference on the export vs MiniGpt: logits max |Δ| = {diff:E2}");
        Assert.True(diff <= 1e-5, $"logits differ by {diff:E3}");
    }

    [Theory]
    [InlineData(true, PositionEncoding.Learned, Activation.GeluTanh, 24)]
    [InlineData(false, PositionEncoding.Sinusoidal, Activation.Gelu, null)]
    public void ExportThenImport_IsBitExactInFloat32(bool bias, PositionEncoding positions, Activation activation, int? nInner)
    {
        var (model, config, tokenizer) = Model(bias, positions, activation, nInner);
        using var _ = model;
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "export");
        HfExport.Write(model, config, tokenizer, outDir, TensorDtype.F32);
        using var folder = HfModelFolder.Open(outDir);
        Assert.True(folder.Tokenizer.Describe().SameTokenizer(tokenizer.Describe()), "the tokenizer did not come back");
        var back = folder.Apply(null);
        Assert.Equal((config.NLayer, config.NHead, config.NEmbd, config.BlockSize, config.NInner, config.Activation), (back.NLayer, back.NHead, back.NEmbd, back.BlockSize, back.NInner, back.Activation));
        using var imported = folder.Build(back);
        imported.eval();
        var theirs = imported.state_dict();
        foreach (var (name, p) in model.UniqueParameters())
            Assert.True(Compare.Identical(p, theirs[name]), $"{name} changed");
        using var a = model.call(Tokens());
        using var b = imported.call(Tokens());
        Assert.True(Compare.Identical(a, b), $"logits differ by {Compare.MaxAbsDiff(a, b):E3}");
    }

    [Fact]
    public void ExportInBFloat16_ImportsAsTheBFloat16RoundingOfEachWeight()
    {
        var (model, config, tokenizer) = Model(true, PositionEncoding.Learned, Activation.GeluTanh);
        using var _ = model;
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "export");
        HfExport.Write(model, config, tokenizer, outDir, TensorDtype.BF16);
        Assert.Contains("\"torch_dtype\": \"bfloat16\"", File.ReadAllText(Path.Combine(outDir, "config.json")));
        using var folder = HfModelFolder.Open(outDir);
        using var imported = folder.Build(folder.Apply(null));
        var theirs = imported.state_dict();
        int changed = 0;
        foreach (var (name, p) in model.UniqueParameters())
        {
            using var rounded = p.detach().to(bfloat16).to(float32);
            Assert.True(Compare.Identical(rounded, theirs[name]), $"{name} is not the bfloat16 rounding of the original");
            if (!Compare.Identical(rounded, p)) changed++;
        }
        Assert.True(changed > 0, "bfloat16 rounding changed no weight: the test would not see a float32 export");
    }

    [Fact]
    public void Export_RotaryModel_IsRefusedAndWritesNothing()
    {
        var (model, config, tokenizer) = Model(false, PositionEncoding.Rotary, Activation.Gelu);
        using var _ = model;
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "export");
        var ex = Assert.Throws<ConfigException>(() => HfExport.Write(model, config, tokenizer, outDir, TensorDtype.F32));
        Assert.Equal("position_encoding", ex.Problems.Single().Key);
        Assert.Contains("no GPT-2 equivalent", ex.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Export_IntoAFolderThatHoldsFiles_IsRefusedAndLeavesThem()
    {
        var (model, config, tokenizer) = Model(false, PositionEncoding.Learned, Activation.Gelu);
        using var _ = model;
        using var dir = new TempDir();
        var kept = dir.File("export/notes.txt", "mine");
        var ex = Assert.Throws<DataException>(() => HfExport.Write(model, config, tokenizer, Path.Combine(dir.Path, "export"), TensorDtype.F32));
        Assert.Contains("not empty", ex.Message);
        Assert.Equal("mine", File.ReadAllText(kept));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));   // no staging folder left beside it
    }

    [Fact]
    public void Export_RemovesTheStagingOfAKilledExport_AndLeavesARunningOnesAlone()
    {
        // kill -9 mid-export left a hidden staging folder of a partial model beside the destination, for ever.
        var (model, config, tokenizer) = Model(false, PositionEncoding.Learned, Activation.Gelu);
        using var _ = model;
        using var dir = new TempDir();
        var dead = dir.File(".export.export-dead/model.safetensors", "partial");
        var deadLockAlone = dir.File(".export.export-gone.lock", "");          // killed before its folder was made
        var running = dir.File(".export.export-running/model.safetensors", "being written");
        using var held = new FileStream(dir.File(".export.export-running.lock", ""), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var other = dir.File(".other.export-dead/model.safetensors", "another destination's");
        HfExport.Write(model, config, tokenizer, Path.Combine(dir.Path, "export"), TensorDtype.F32);
        Assert.True(File.Exists(Path.Combine(dir.Path, "export", HfGpt2Config.FileName)));
        Assert.False(Directory.Exists(Path.GetDirectoryName(dead)));
        Assert.False(File.Exists(deadLockAlone));
        Assert.Equal("being written", File.ReadAllText(running));
        Assert.Equal("another destination's", File.ReadAllText(other));
        Assert.Equal([".export.export-running", ".export.export-running.lock", ".other.export-dead", "export"],
                     Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Export_IntoAnEmptyFolder_StagesInsideIt_SoADeadExportThereBlocksNothing()
    {
        // An existing folder may be a file system of its own (a mount point): staged beside it, the files were copied
        // across, and a full disk left part of model.safetensors behind under another export's name.
        var (model, config, tokenizer) = Model(false, PositionEncoding.Learned, Activation.Gelu);
        using var _ = model;
        using var dir = new TempDir();
        var dead = dir.File("export/.export.export-dead/model.safetensors", "partial");   // killed while staging inside
        HfExport.Write(model, config, tokenizer, Path.Combine(dir.Path, "export"), TensorDtype.F32);
        Assert.False(Directory.Exists(Path.GetDirectoryName(dead)));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Path.Combine(dir.Path, "export")), e => Path.GetFileName(e).StartsWith('.'));
        Assert.True(File.Exists(Path.Combine(dir.Path, "export", HfGpt2Config.FileName)));
    }

    [Fact]
    public void Export_WritesTransformersConfig()
    {
        var (model, config, tokenizer) = Model(true, PositionEncoding.Learned, Activation.GeluTanh, 24);
        using var _ = model;
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "export");
        var result = HfExport.Write(model, config, tokenizer, outDir, TensorDtype.F32);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")));
        var c = doc.RootElement;
        Assert.Equal("GPT2LMHeadModel", c.GetProperty("architectures")[0].GetString());
        Assert.Equal("gpt2", c.GetProperty("model_type").GetString());
        Assert.Equal((36, 12, 16, 2, 2, 24, "gelu_new"), (c.GetProperty("vocab_size").GetInt32(), c.GetProperty("n_positions").GetInt32(),
            c.GetProperty("n_embd").GetInt32(), c.GetProperty("n_layer").GetInt32(), c.GetProperty("n_head").GetInt32(),
            c.GetProperty("n_inner").GetInt32(), c.GetProperty("activation_function").GetString()));
        foreach (var file in new[] { "model.safetensors", "config.json", "generation_config.json", "minigpt_tokenizer.json", "tokenizer.json" })
            Assert.Contains(file, result.Files);
        using var weights = SafeTensorsFile.Open(Path.Combine(outDir, "model.safetensors"));
        Assert.Equal("pt", weights.Metadata["format"]);
        Assert.Equal(new long[] { 16, 48 }, weights["h.0.attn.c_attn.weight"].Shape);   // Conv1D: (in, out)
        Assert.False(weights.Contains("lm_head.weight"));
    }
}
