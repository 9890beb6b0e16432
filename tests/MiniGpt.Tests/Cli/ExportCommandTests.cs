using MiniGpt.Tests.Formats;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Cli;

/// <summary>export, and generate/eval on what it writes or on any Hugging Face GPT-2 folder.</summary>
public class ExportCommandTests
{
    [Fact]
    public void Export_ThenGenerateFromTheFolder_GivesTheCheckpointsGreedyText()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 10 };
        using (var t = new Trainer(c)) t.Run();
        var outDir = Path.Combine(dir.Path, "hf");
        var export = InProcessCli.Run(dir.Path, "export", "--checkpoint", c.OutDir, "--out", outDir);
        Assert.True(export.Code == 0, export.Stderr);
        Assert.StartsWith($"exported {Path.Combine(c.OutDir, "best.ckpt")} (step 10, ", export.Stdout);
        Assert.Contains("model.safetensors", export.Stdout);

        string[] greedy = ["--prompt", "the ", "--max-new-tokens", "40", "--temperature", "0", "--device", "cpu"];
        var fromRun = InProcessCli.Run(dir.Path, ["generate", "--checkpoint", c.OutDir, .. greedy]);
        var fromExport = InProcessCli.Run(dir.Path, ["generate", "--checkpoint", outDir, .. greedy]);
        Assert.True(fromExport.Code == 0, fromExport.Stderr);
        Assert.Equal(fromRun.Stdout, fromExport.Stdout);
        Assert.Equal(41 + 4, fromExport.Stdout.Length);
    }

    [Fact]
    public void Eval_OnAHuggingFaceFolder_ReportsItsLoss()
    {
        using var dir = new TempDir();
        var text = dir.File("text.txt", string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 20)));
        var r = InProcessCli.Run(dir.Path, "eval", "--checkpoint", HfGpt2ImportTests.Fixture, "--text", text, "--device", "cpu");
        Assert.True(r.Code == 0, r.Stderr);
        Assert.Contains($"checkpoint  {HfGpt2ImportTests.Fixture} (step 0)", r.Stdout);
        Assert.Contains("loss", r.Stdout);
    }

    [Fact]
    public void Export_BadInput_IsOneLine()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2, PositionEncoding = MiniGpt.Model.PositionEncoding.Rotary };
        using (var t = new Trainer(c)) t.Run();
        var rotary = InProcessCli.Run(dir.Path, "export", "--checkpoint", c.OutDir, "--out", "hf");
        // The checkpoint's property, not the command line's: exit 1, the file named.
        var ckpt = Path.Combine(c.OutDir, "best.ckpt");
        Assert.Equal((1, $"error: {ckpt} holds a model with rotary positions, which have no GPT-2 equivalent: only models with learned or sinusoidal positions export\n"), (rotary.Code, rotary.Stderr));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "hf")));
        var underAFile = InProcessCli.Run(dir.Path, "export", "--checkpoint", HfGpt2ImportTests.Fixture, "--out", Path.Combine(ckpt, "sub"));
        Assert.Equal((1, $"error: {Path.Combine(ckpt, "sub")} cannot be made: {ckpt} is a file, not a folder\n"), (underAFile.Code, underAFile.Stderr));
        var dtype = InProcessCli.Run(dir.Path, "export", "--checkpoint", c.OutDir, "--out", "hf", "--dtype", "float16");
        Assert.Equal(2, dtype.Code);
        Assert.Contains("--dtype 'float16': must be one of float32 or bfloat16", dtype.Stderr);
        var occupied = InProcessCli.Run(dir.Path, "export", "--checkpoint", HfGpt2ImportTests.Fixture, "--out", c.OutDir);
        Assert.Equal((1, $"error: {c.OutDir} already exists and is not empty; export writes a new or empty folder\n"), (occupied.Code, occupied.Stderr));
    }

    [Fact]
    public void Generate_FromADamagedFolder_NamesTheFile()
    {
        using var dir = new TempDir();
        var folder = HfGpt2ImportTests.CopyFixture(dir, "model", null);
        var weights = Path.Combine(folder, "model.safetensors");
        using (var f = new FileStream(weights, FileMode.Open)) f.SetLength(f.Length - 100);
        var r = InProcessCli.Run(dir.Path, "generate", "--checkpoint", folder, "--device", "cpu");
        Assert.Equal(1, r.Code);
        var line = Assert.Single(r.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"error: {weights}: ", line);
    }

    [Fact]
    public void HubSettings_MatterOnlyToHubModels()
    {
        using var dir = new TempDir();
        var env = new Dictionary<string, string?> { ["HF_ENDPOINT"] = "not a url", ["HF_HOME"] = Path.Combine(dir.Path, "hf"), ["HF_HUB_CACHE"] = null };
        var local = CliProcess.Run(env, dir.Path, "generate", "--checkpoint", HfGpt2ImportTests.Fixture, "--max-new-tokens", "3", "--device", "cpu");
        Assert.True(local.Code == 0, local.Stderr);
        var hub = CliProcess.Run(env, dir.Path, "generate", "--checkpoint", "gpt2", "--device", "cpu");
        Assert.Equal(2, hub.Code);
        Assert.Contains("HF_ENDPOINT", Assert.Single(hub.Stderr.TrimEnd('\n').Split('\n')));

        env["HF_ENDPOINT"] = null;
        env["HF_HUB_OFFLINE"] = "1";
        var offline = CliProcess.Run(env, dir.Path, "generate", "--checkpoint", "gpt2", "--device", "cpu");
        Assert.Equal(1, offline.Code);
        var line = Assert.Single(offline.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: ", line);
        Assert.Contains("gpt2", line);

        // A HOME that does not exist yet is still where the cache goes: it was dropped, and the cache named relative to the current folder.
        var home = Path.Combine(dir.Path, "no-home-yet");
        env["HF_HOME"] = null;
        env["HOME"] = home;
        env["XDG_CACHE_HOME"] = null;
        var homeless = CliProcess.Run(env, dir.Path, "generate", "--checkpoint", "gpt2", "--device", "cpu");
        Assert.Contains($" is not in the hub cache {home}/.cache/huggingface/hub/models--openai-community--gpt2 ", homeless.Stderr);
    }

    [Fact]
    public void Export_ToATrailingSlashOrTheCurrentFolder_WritesIntoIt()
    {
        using var dir = new TempDir();
        var slash = InProcessCli.Run(dir.Path, "export", "--checkpoint", HfGpt2ImportTests.Fixture, "--out", "new/");
        Assert.True(slash.Code == 0, slash.Stderr);
        Assert.True(File.Exists(Path.Combine(dir.Path, "new", "config.json")));
        var here = Path.Combine(dir.Path, "here");
        Directory.CreateDirectory(here);
        var dot = InProcessCli.Run(here, "export", "--checkpoint", HfGpt2ImportTests.Fixture, "--out", ".");
        Assert.True(dot.Code == 0, dot.Stderr);
        Assert.True(File.Exists(Path.Combine(here, "model.safetensors")) && File.Exists(Path.Combine(here, "config.json")));
        Assert.Equal(["here", "new"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());   // no staging folder left
        var empty = InProcessCli.Run(dir.Path, "export", "--checkpoint", HfGpt2ImportTests.Fixture, "--out", "");
        Assert.Equal((2, "error: --out '': must name a folder\n"), (empty.Code, empty.Stderr));
    }

    [Fact]
    public void Generate_AVocabularyWithoutATokenForEveryByte_IsOneLine()
    {
        // A GPT-2 style vocabulary without the byte token of 'z' left "z" with no token at all, and text holding it shorter.
        using var dir = new TempDir();
        var folder = HfGpt2ImportTests.CopyFixture(dir, "noz", null);
        var vocabFile = Path.Combine(folder, "vocab.json");
        var vocab = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabFile))!;
        int zId = vocab["z"];
        vocab.Remove("z");
        vocab["<|unused|>"] = zId;
        File.WriteAllText(vocabFile, System.Text.Json.JsonSerializer.Serialize(vocab));
        var r = InProcessCli.Run(dir.Path, "generate", "--checkpoint", folder, "--prompt", "z", "--device", "cpu");
        Assert.Equal((1, $"error: cannot read the BPE files {vocabFile} and {Path.Combine(folder, "merges.txt")}: no token for byte 0x7A 'z' (spelled 'z'), so text holding it could not be encoded\n"),
                     (r.Code, r.Stderr));
    }
}
