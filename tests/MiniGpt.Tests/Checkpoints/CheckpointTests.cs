using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Checkpoints;

public class CheckpointTests
{
    static CheckpointState State(int step = 42) => new()
    {
        Config = new TrainConfig { NLayer = 3, MaxIters = 77, Dropout = 0.25 },
        Tokenizer = new TokenizerDescription(TokenizerKind.Char, Chars: "abc日😀"),
        VocabSize = 5,
        Step = step,
        BestValLoss = 1.2345,
        OptimizerStep = 40,
        TokensSeen = 123_456,
        ElapsedSeconds = 9.5,
        TorchRngState = [1, 2, 3, 250],
        TrainSamplerState = [1, 2, 3, ulong.MaxValue],
        Tensors = new Dictionary<string, Tensor>
        {
            ["model/w"] = arange(6, dtype: float32).reshape(2, 3),
            ["optim/m"] = tensor(new float[] { 0.5f, -1.5f }),
        },
    };

    [Fact]
    public void RoundTrip_KeepsEveryState()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        var s = State();
        Checkpoint.Save(path, s);
        var r = Checkpoint.Load(path);
        Assert.Equal(s.Config, r.Config);
        Assert.Equal(s.Tokenizer.Chars, r.Tokenizer.Chars);
        Assert.Equal((s.VocabSize, s.Step, s.BestValLoss, s.OptimizerStep, s.TokensSeen, s.ElapsedSeconds),
                     (r.VocabSize, r.Step, r.BestValLoss, r.OptimizerStep, r.TokensSeen, r.ElapsedSeconds));
        Assert.Equal(s.TorchRngState, r.TorchRngState);
        Assert.Equal(s.TrainSamplerState, r.TrainSamplerState);
        Assert.Equal(s.Tensors.Keys.Order(), r.Tensors.Keys.Order());
        foreach (var (k, t) in s.Tensors) Assert.True(t.equal(r.Tensors[k]).all().item<bool>(), k);
        Assert.Equal(new long[] { 2, 3 }, r.Tensors["model/w"].shape);
    }

    [Fact]
    public void OneFlippedByte_AnywhereInTheFile_IsReportedWithTheFile()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        Checkpoint.Save(path, State());
        var good = File.ReadAllBytes(path);
        foreach (var at in new[] { 0, 9, 17, 26, 40, good.Length / 2, good.Length - 1 })
        {
            var bad = (byte[])good.Clone();
            bad[at] ^= 0x10;
            File.WriteAllBytes(path, bad);
            var ex = Assert.Throws<DataException>(() => Checkpoint.Load(path));
            Assert.Contains(path, ex.Message);
        }
    }

    [Fact]
    public void HalfAFile_IsReportedAsTruncated()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        Checkpoint.Save(path, State());
        var good = File.ReadAllBytes(path);
        File.WriteAllBytes(path, good[..(good.Length / 2)]);
        var ex = Assert.Throws<DataException>(() => Checkpoint.Load(path));
        Assert.Contains("truncated", ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void CrashMidWrite_LeavesThePreviousCheckpointLoadable()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        Checkpoint.Save(path, State(step: 1));
        Assert.Throws<IOException>(() => Checkpoint.Save(path, State(step: 2), s => new FailingStream(s, failAfter: 100)));
        Assert.Equal(1, Checkpoint.Load(path).Step);
        Assert.Single(Directory.GetFiles(dir.Path));   // no temporary file left behind
    }

    [Theory]
    [InlineData("\"n_layer\": 3", "\"n_layr\": 3", "its config is invalid: n_layr: unknown key (did you mean 'n_layer'?)")]
    [InlineData("\"n_layer\": 3", "\"n_layer\": 0", "its config is invalid: n_layer = 0: must be ≥ 1")]
    [InlineData("\"device\": \"auto\"", "\"device\": \"tpu\"", "its config is invalid: device = 'tpu': expected one of auto, cpu or cuda")]
    [InlineData("\"step\": 42", "\"step\": \"42\"", "damaged metadata: ")]
    public void ACraftedConfigOrMetadata_IsReportedWithTheFile_NotLoaded(string from, string to, string problem)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        Checkpoint.Save(path, State());
        CraftedCheckpoint.EditJson(path, json => json.Contains(from) ? json.Replace(from, to) : throw new InvalidOperationException($"{from} not in {json}"));
        var ex = Assert.Throws<DataException>(() => Checkpoint.Load(path));
        Assert.Equal(path, ex.Path);
        Assert.StartsWith($"checkpoint {path} is unusable: {problem}", ex.Message);
    }

    /// <summary>
    /// A checkpoint written by MiniGpt as of commit 10401a2, whose config was serialized from the record itself
    /// (snake_case properties, choices as strings): `train` on a 1-layer rotary char model, 2 steps, dropout 0.1,
    /// seed 5, over "First Citizen:…" × 30. It must still load, and training must resume from it.
    /// </summary>
    [Fact]
    public void ACheckpointFromBeforeTheConfigSchema_LoadsAndResumes()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "checkpoint_v1_10401a2.ckpt");
        var s = Checkpoint.Load(fixture);
        Assert.Equal(new TrainConfig
        {
            OutDir = "run", DataDir = "cache", Corpus = "corpus.txt", EvalInterval = 2, EvalIters = 1, SampleTokens = 0, BatchSize = 2, BlockSize = 8,
            NLayer = 1, NHead = 2, NEmbd = 8, Dropout = 0.1, PositionEncoding = MiniGpt.Model.PositionEncoding.Rotary, MaxIters = 2, WarmupIters = 0,
            LrDecayIters = 10, Device = DeviceKind.Cpu, Seed = 5,
        }, s.Config);
        Assert.Equal((2, 30, TokenizerKind.Char), (s.Step, s.VocabSize, s.Tokenizer.Kind));

        using var dir = new TempDir();
        var corpus = dir.File("corpus.txt", string.Concat(Enumerable.Repeat("First Citizen:\nBefore we proceed any further, hear me speak.\nAll: Speak, speak.\n", 30)));
        File.Copy(fixture, dir.File("run/last.ckpt"));
        var c = s.Config with { OutDir = Path.Combine(dir.Path, "run"), DataDir = Path.Combine(dir.Path, "cache"), Corpus = corpus, InitFrom = InitFrom.Resume, MaxIters = 4 };
        using var t = new Trainer(c);
        Assert.Equal(2, t.Iter);
        Assert.Equal(4, t.Run().FinalIter);
    }
}
