using System.Text.Json.Nodes;
using MiniGpt.Config;
using MiniGpt.Formats;
using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Formats;

/// <summary>
/// Importing a GPT-2 in Hugging Face's layout (scripts/make_hf_fixtures.py writes it as transformers keeps it:
/// Conv1D weights (in, out), tanh GELU, n_inner 80, ε 1e-4, attn.bias buffers) must reproduce the logits and
/// loss that PyTorch computed from that layout. The largest difference is printed.
/// </summary>
public class HfGpt2ImportTests(ITestOutputHelper output)
{
    public static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf_gpt2_tiny");

    static Gpt Import(string dir, TrainConfig? config = null)
    {
        using var folder = HfModelFolder.Open(dir);
        var model = folder.Build(folder.Apply(config));
        model.eval();
        return model;
    }

    [Fact]
    public void Import_ReproducesTheReferenceLogitsAndLoss()
    {
        var golden = GoldenFixture.Load(Path.Combine(Fixture, "golden.bin"));
        using var model = Import(Fixture);
        Assert.Equal(Activation.GeluTanh, model.Config.Activation);
        using var logits = model.call(golden.Tokens("x"));
        double diff = Compare.MaxAbsDiff(golden.Tensors["logits"], logits);
        using var loss = model.Loss(logits, golden.Tokens("y"));
        double lossDiff = Math.Abs(loss.item<float>() - golden.Header.GetProperty("loss").GetDouble());
        output.WriteLine($"logits max |Δ| = {diff:E2}, loss |Δ| = {lossDiff:E2}");
        Assert.True(diff <= 1e-5, $"logits differ by {diff:E3}");
        Assert.True(lossDiff <= 1e-5, $"loss differs by {lossDiff:E3}");
    }

    [Fact]
    public void Import_WithASmallerBlockSize_CropsThePositionTable()
    {
        var golden = GoldenFixture.Load(Path.Combine(Fixture, "golden.bin"));
        using var model = Import(Fixture, new TrainConfig { BlockSize = 16 });
        Assert.Equal(16, model.Config.BlockSize);
        Assert.Equal(new long[] { 16, 32 }, model.state_dict()["wpe.weight"].shape);
        using var logits = model.call(golden.Tokens("x"));   // T = 16
        Assert.True(Compare.MaxAbsDiff(golden.Tensors["logits"], logits) <= 1e-5);
    }

    [Fact]
    public void Import_BlockSizeBeyondNPositions_IsRefused()
    {
        using var folder = HfModelFolder.Open(Fixture);
        var ex = Assert.Throws<ConfigException>(() => folder.Apply(new TrainConfig { BlockSize = 25 }));
        Assert.Equal("block_size", ex.Problems.Single().Key);
        Assert.Contains("n_positions (24)", ex.Message);
    }

    [Fact]
    public void Import_AcceptsTransformersPrefixAndAnEqualHead_RefusesAnUntiedOne()
    {
        using var dir = new TempDir();
        var tensors = ReadAll();
        var prefixed = tensors.Select(t => ("transformer." + t.Name, t.Tensor)).Append(("lm_head.weight", tensors.Single(t => t.Name == "wte.weight").Tensor)).ToList();
        var copy = CopyFixture(dir, "prefixed", prefixed);
        var golden = GoldenFixture.Load(Path.Combine(Fixture, "golden.bin"));
        using (var model = Import(copy))
        using (var logits = model.call(golden.Tokens("x")))
            Assert.True(Compare.MaxAbsDiff(golden.Tensors["logits"], logits) <= 1e-5);

        var untied = tensors.Append(("lm_head.weight", tensors.Single(t => t.Name == "wte.weight").Tensor * 2)).ToList();
        var bad = CopyFixture(dir, "untied", untied);
        var ex = Assert.Throws<DataException>(() => Import(bad));
        Assert.Contains("lm_head.weight differs from wte.weight", ex.Message);
    }

    [Fact]
    public void Import_AConfigThatRepeatsAKey_IsOneLine()
    {
        using var dir = new TempDir();
        var folder = CopyFixture(dir, "twice", null);
        var path = Path.Combine(folder, "config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"n_layer\": 2,", "\"n_layer\": 2, \"n_layer\": 2,"));
        var ex = Assert.Throws<DataException>(() => HfModelFolder.Open(folder).Dispose());
        Assert.Equal($"{path}: lists \"n_layer\" twice", ex.Message);
    }

    [Theory]
    [InlineData("config.json", "/dev/zero", "{0}: 0 bytes (an empty file, or a pipe or device)")]
    [InlineData("config.json", "fifo", "{0}: 0 bytes (an empty file, or a pipe or device)")]
    [InlineData("vocab.json", "/dev/zero", "vocab file {0}: 0 bytes (an empty file, or a pipe or device)")]
    [InlineData("vocab.json", "fifo", "vocab file {0}: 0 bytes (an empty file, or a pipe or device)")]
    public void Import_AFileOfNoBytes_IsRefusedUnopened(string file, string what, string message)
    {
        // /dev/zero, through a link, says 0 bytes and was read until memory ran out; a FIFO's open waited for ever.
        using var dir = new TempDir();
        var folder = CopyFixture(dir, "endless", null);
        var path = Path.Combine(folder, file);
        File.Delete(path);
        if (what == "fifo") Fifo.Make(path);
        else File.CreateSymbolicLink(path, what);
        var ex = Assert.Throws<DataException>(() => Fifo.Within(path, () => { HfModelFolder.Open(folder).Dispose(); return 0; }));
        Assert.Equal(string.Format(message, path), ex.Message);
    }

    [Fact]
    public void Import_ATokenizerFileLargerThanAnyTokenizer_IsRefusedUnread()
    {
        using var dir = new TempDir();
        var folder = CopyFixture(dir, "huge", null);
        var path = Path.Combine(folder, "minigpt_tokenizer.json");
        using (var f = File.Create(path)) f.SetLength(300L << 20);   // sparse: nothing is written
        var ex = Assert.Throws<DataException>(() => HfModelFolder.Open(folder).Dispose());
        Assert.Contains($"tokenizer description {path} holds {300L << 20} bytes, more than any tokenizer's", ex.Message);
    }

    [Fact]
    public void Import_AHeadWithNaNs_EqualToWte_IsTied_AndABufferOfALayerBeyondTheModel_IsNot()
    {
        using var dir = new TempDir();
        var tensors = ReadAll();
        var wte = tensors.Single(t => t.Name == "wte.weight").Tensor;
        wte[3, 5] = tensor(float.NaN);
        var nan = CopyFixture(dir, "nan", tensors.Append(("lm_head.weight", wte.clone())).Append(("transformer.lm_head.weight", wte.clone())));
        using (var model = Import(nan))
            Assert.True(float.IsNaN(model.state_dict()["wte.weight"][3, 5].item<float>()));

        var extra = CopyFixture(dir, "layer9", tensors.Append(("h.9.attn.bias", ones(1, 1, 24, 24))));
        var ex = Assert.Throws<DataException>(() => HfModelFolder.Open(extra).Dispose());
        Assert.Contains("tensor h.9.attn.bias is not a weight of a 2-layer GPT-2", ex.Message);
    }

    [Theory]
    [InlineData("missing", "tensor h.1.mlp.c_fc.bias is missing")]
    [InlineData("untransposed", "tensor h.0.attn.c_attn.weight has shape [96, 32], but config.json implies [32, 96]")]
    [InlineData("extra", "tensor h.2.ln_1.weight is not a weight of a 2-layer GPT-2")]
    public void Import_WrongTensors_AreNamed(string fault, string message)
    {
        using var dir = new TempDir();
        var tensors = ReadAll();
        tensors = fault switch
        {
            "missing" => tensors.Where(t => t.Name != "h.1.mlp.c_fc.bias").ToList(),
            "untransposed" => tensors.Select(t => t.Name == "h.0.attn.c_attn.weight" ? (t.Name, t.Tensor.t()) : t).ToList(),
            _ => tensors.Append(("h.2.ln_1.weight", ones(32))).ToList(),
        };
        var folder = CopyFixture(dir, fault, tensors);
        var ex = Assert.Throws<DataException>(() => HfModelFolder.Open(folder).Dispose());
        Assert.Contains(message, ex.Message);
        Assert.Contains(Path.Combine(folder, "model.safetensors"), ex.Message);
    }

    [Theory]
    [InlineData("activation_function", "\"relu\"", "activation_function: 'relu' is not one MiniGpt computes")]
    [InlineData("n_head", "5", "n_embd = 32: must be divisible by n_head (5)")]
    [InlineData("n_layer", "null", "n_layer: expected a positive integer, not null")]
    [InlineData("n_layer", "1.5", "n_layer: expected a positive integer, not 1.5")]
    [InlineData("model_type", "\"llama\"", "model_type: 'llama' is not gpt2")]
    [InlineData("tie_word_embeddings", "false", "tie_word_embeddings: must be true")]
    [InlineData("layer_norm_epsilon", "-1", "layer_norm_epsilon: expected a positive number, not -1")]
    [InlineData("vocab_size", "300", "the tokenizer has 267 ids, but config.json's vocab_size is 300")]
    [InlineData("n_positions", "2000000000", "n_positions = 2000000000: must be in [1, 1048576]")]
    public void Import_BadConfig_IsOneLineNamingTheKey(string key, string json, string message)
    {
        using var dir = new TempDir();
        var folder = CopyFixture(dir, "bad", null);
        var path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config[key] = JsonNode.Parse(json);
        File.WriteAllText(path, config.ToJsonString());
        var ex = Assert.Throws<DataException>(() => HfModelFolder.Open(folder).Dispose());
        Assert.Contains(message, ex.Message);
        Assert.DoesNotContain("\n", ex.Message);
    }

    [Fact]
    public void Import_NoTokenizer_SaysWhatItNeeds()
    {
        using var dir = new TempDir();
        var folder = CopyFixture(dir, "notok", null);
        File.Delete(Path.Combine(folder, "merges.txt"));
        var ex = Assert.Throws<DataException>(() => HfModelFolder.Open(folder).Dispose());
        Assert.Contains("needs vocab.json and merges.txt", ex.Message);
    }

    internal static List<(string Name, Tensor Tensor)> ReadAll()
    {
        using var file = SafeTensorsFile.Open(Path.Combine(Fixture, "model.safetensors"));
        return file.Tensors.Select(t => (t.Name, file.ReadFloat32(t.Name))).ToList();
    }

    /// <summary>The fixture folder copied to dir/name, with other weights when given.</summary>
    internal static string CopyFixture(TempDir dir, string name, IEnumerable<(string Name, Tensor Tensor)>? tensors)
    {
        var folder = Path.Combine(dir.Path, name);
        Directory.CreateDirectory(folder);
        foreach (var f in Directory.GetFiles(Fixture)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        if (tensors is not null) SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors, TensorDtype.F32);
        return folder;
    }
}

/// <summary>--checkpoint gpt2 and init_from gpt2 end to end, with the fixture model served as openai-community/gpt2.</summary>
public class PretrainedDownloadTests
{
    [Fact]
    public void Gpt2_IsDownloadedOnce_AndReproducesTheReference()
    {
        using var dir = new TempDir();
        using var server = new LocalHubServer { Serves = "openai-community/gpt2" };
        foreach (var f in Directory.GetFiles(HfGpt2ImportTests.Fixture).Where(f => !f.EndsWith("golden.bin")))
            server.Add(Path.GetFileName(f), File.ReadAllBytes(f), lfs: f.EndsWith(".safetensors"));
        var hub = new MiniGpt.Hub.HubOptions(server.Endpoint, Path.Combine(dir.Path, "hf-cache"));
        var golden = GoldenFixture.Load(Path.Combine(HfGpt2ImportTests.Fixture, "golden.bin"));
        for (int load = 0; load < 2; load++)
        {
            using var m = MiniGpt.Checkpoints.TrainedModel.Load("gpt2", DeviceKind.Cpu, hub);
            using var logits = m.Model.call(golden.Tokens("x"));
            Assert.True(Compare.MaxAbsDiff(golden.Tensors["logits"], logits) <= 1e-5);
            Assert.Equal(MiniGpt.Data.TokenizerKind.Bpe, m.Tokenizer.Kind);
        }
        Assert.Single(server.GetsOf("model.safetensors"));   // the second load came from the cache
        Assert.True(File.Exists(Path.Combine(dir.Path, "hf-cache", "models--openai-community--gpt2", "refs", "main")));

        var offline = hub with { Endpoint = new Uri("http://127.0.0.1:9") };
        using (var cached = MiniGpt.Checkpoints.TrainedModel.Load("gpt2", DeviceKind.Cpu, offline)) { }   // unreachable hub: the cache stands in
        var ex = Assert.Throws<MiniGpt.Hub.HubException>(() => MiniGpt.Checkpoints.TrainedModel.Load("gpt2-medium", DeviceKind.Cpu, offline));
        Assert.DoesNotContain("\n", ex.Message);
    }
}
