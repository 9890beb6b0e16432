using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Checkpoints;

public class CheckpointTests
{
    /// <summary>A consistent state: a real 1-layer model's weights, AdamW moments to match, a real generator state.</summary>
    static CheckpointState State(int step = 42)
    {
        var config = new TrainConfig { NLayer = 1, NHead = 2, NEmbd = 8, BlockSize = 4, MaxIters = 77, Dropout = 0.25 };
        using var model = new Gpt(config.ToGptConfig(5), seed: 3);
        var tensors = model.UniqueParameters().ToDictionary(p => "model/" + p.Name, p => p.Param.detach().clone());
        long n = model.ParameterCount;
        tensors["optim/m"] = arange(n, dtype: float32) / n;
        tensors["optim/v"] = arange(n, dtype: float32).square() / n;
        using var rng = torch.random.get_rng_state();
        return new()
        {
            Config = config,
            Tokenizer = new TokenizerDescription(TokenizerKind.Char, Chars: "abc日😀"),
            VocabSize = 5,
            Step = step,
            BestValLoss = 1.2345,
            OptimizerStep = 40,
            TokensSeen = 123_456,
            ElapsedSeconds = 9.5,
            TorchRngState = rng.bytes.ToArray(),
            TrainSamplerState = [1, 2, 3, ulong.MaxValue],
            CorpusSha256 = "ab12",
            Tensors = tensors,
        };
    }

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
        Assert.Equal(new long[] { 5, 8 }, r.Tensors["model/wte.weight"].shape);
        Assert.Equal(s.CorpusSha256, r.CorpusSha256);
    }

    [Fact]
    public void TensorsStreamInPieces_ThatNeedNotDivideThem()
    {
        // Files over 2 GB cannot pass through one span, so tensors go in pieces; 7 floats here, 16 MB in use.
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        var s = State();
        Checkpoint.Save(path, s, chunkFloats: 7);
        var whole = Path.Combine(dir.Path, "whole.ckpt");
        Checkpoint.Save(whole, s);
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(path));
        var r = Checkpoint.Load(path, chunkFloats: 5);
        foreach (var (k, t) in s.Tensors) Assert.True(t.equal(r.Tensors[k]).all().item<bool>(), k);
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
    [InlineData("\"n_layer\": 1", "\"n_layr\": 1", "its config is invalid: n_layr: unknown key (did you mean 'n_layer'?)")]
    [InlineData("\"n_layer\": 1", "\"n_layer\": 0", "its config is invalid: n_layer = 0: must be in [1, 1024]")]
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

    public static TheoryData<string, string> CraftedMetadata() => new()
    {
        // what the crafted file changes, and what Load must say (after "checkpoint PATH is unusable: ")
        { "tensors null", "damaged metadata: a required field is missing" },
        { "tokenizer removed", "damaged metadata: a required field is missing" },
        { "4 TB shape", "tensor model/wte.weight has shape [1000000, 1000000], more than the file holds" },
        { "shape against length", "tensor model/wte.weight has shape [5, 9] (180 bytes) but 160 bytes" },
        { "offset 2^40", "tensor model/wte.weight starts at byte 1099511627776 of the data; the tensor before it ends at 0" },
        { "overlap", "tensor model/wpe.weight starts at byte 0 of the data; the tensor before it ends at 160" },
        { "float16", "tensor model/wte.weight is 'float16'; this MiniGpt writes float32" },
        // The file's words are escaped and cut: a newline in a name forged a second line, 20,000 dimensions a 60 KB line.
        { "control name", "tensor model/wte.weight\\u000awarning: nothing wrong\\u001b[31m is 'float16'; this MiniGpt writes float32" },
        { "long dtype", $"tensor model/wte.weight is '{new string('f', 200)}'… (5,000 characters); this MiniGpt writes float32" },
        { "20,000 dims", "tensor model/wte.weight has 20,000 dimensions; a MiniGpt tensor has at most 4" },
        { "no optim/v", "its tensors take" },
        { "vocab 1e8", "vocab_size 100000000 is outside [1, 16777216]" },
        // V·C + T·C + (12C² + 2C) per block + C = 40 + 32 + 784 + 8 = 864 weights; one more id adds C, one more block 784
        { "vocab 6", "it holds 864 weights but its config makes a model of 872" },
        { "n_layer 2", "it holds 864 weights but its config makes a model of 1648" },
        { "n_layer 1e6", "its config is invalid: n_layer = 1000000: must be in [1, 1024]" },
        { "rng not base64", "its random-number state is not base64" },
        { "rng short", "its random-number state has 3 bytes; libtorch's CPU generator has 5056" },
        { "rng left 0", "its random-number state is not one libtorch's CPU generator can be in" },
        { "sampler zeros", "its sampler state is not four integers, not all zero" },
        { "negative step", "damaged metadata: a negative step, token count or time, or a NaN loss" },
        { "empty, huge dims", "tensor model/wte.weight has shape [0, 4611686018427387904, 4611686018427387904]; every dimension must be at least 1" },
    };

    [Theory]
    [MemberData(nameof(CraftedMetadata))]
    public void ACraftedFileWithAValidChecksum_IsRefused_BeforeAnythingIsAllocated(string craft, string problem)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        Checkpoint.Save(path, State());
        CraftedCheckpoint.EditMeta(path, meta =>
        {
            var tensors = meta["tensors"]!.AsArray();
            var wte = tensors.First(t => t!["name"]!.GetValue<string>() == "model/wte.weight")!.AsObject();
            switch (craft)
            {
                case "tensors null": meta["tensors"] = null; break;
                case "tokenizer removed": meta.Remove("tokenizer"); break;
                case "4 TB shape": wte["shape"] = new System.Text.Json.Nodes.JsonArray(1_000_000, 1_000_000); break;
                case "shape against length": wte["shape"] = new System.Text.Json.Nodes.JsonArray(5, 9); break;
                case "offset 2^40": wte["offset"] = 1L << 40; break;
                case "overlap": tensors[1]!["offset"] = 0; break;
                case "float16": wte["dtype"] = "float16"; break;
                case "control name": wte["name"] = "model/wte.weight\nwarning: nothing wrong\u001b[31m"; wte["dtype"] = "float16"; break;
                case "long dtype": wte["dtype"] = new string('f', 5000); break;
                case "20,000 dims": wte["shape"] = new System.Text.Json.Nodes.JsonArray(Enumerable.Repeat(1, 20_000).Select(d => (System.Text.Json.Nodes.JsonNode?)d).ToArray()); break;
                case "no optim/v": tensors.Remove(tensors.First(t => t!["name"]!.GetValue<string>() == "optim/v")); break;
                case "vocab 1e8": meta["vocab_size"] = 100_000_000; break;
                case "vocab 6": meta["vocab_size"] = 6; break;
                case "n_layer 2": meta["config"]!["n_layer"] = 2; break;
                case "n_layer 1e6": meta["config"]!["n_layer"] = 1_000_000; break;
                case "rng not base64": meta["torch_rng_state"] = "not base64!"; break;
                case "rng short": meta["torch_rng_state"] = Convert.ToBase64String([1, 2, 3]); break;
                case "rng left 0":
                    var rng = Convert.FromBase64String(meta["torch_rng_state"]!.GetValue<string>());
                    BitConverter.GetBytes(0).CopyTo(rng, 8);
                    meta["torch_rng_state"] = Convert.ToBase64String(rng);
                    break;
                case "sampler zeros": meta["train_sampler_state"] = new System.Text.Json.Nodes.JsonArray(0, 0, 0, 0); break;
                case "negative step": meta["step"] = -1; break;
                case "empty, huge dims": wte["shape"] = new System.Text.Json.Nodes.JsonArray(0, 1L << 62, 1L << 62); break;
                default: throw new ArgumentException(craft);
            }
        });
        var ex = Assert.Throws<DataException>(() => Checkpoint.Load(path));
        Assert.True(ex.Message.StartsWith($"checkpoint {path} is unusable: {problem}"), ex.Message);
        // Reading the metadata alone checks it just as much.
        var summary = Assert.Throws<DataException>(() => Checkpoint.ReadSummary(path));
        Assert.Equal(ex.Message, summary.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void AHeaderWithTooShortAPayload_IsReported_NotReadPast(int payload)
    {
        // A header that agrees with the file's length and holds the right checksum, over fewer bytes than the
        // metadata's own length takes.
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        var bytes = new byte[32 + payload];
        "MGCKPT01"u8.CopyTo(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 1);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), payload);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), MiniGpt.IO.Crc32C.Compute(bytes.AsSpan(32)));
        File.WriteAllBytes(path, bytes);
        var expected = $"checkpoint {path} is unusable: header says {payload} payload bytes, too few for the length of its metadata";
        Assert.Equal(expected, Assert.Throws<DataException>(() => Checkpoint.Load(path)).Message);
        Assert.Equal(expected, Assert.Throws<DataException>(() => Checkpoint.ReadSummary(path)).Message);
    }

    [Fact]
    public void APipe_IsRefusedUnopened()
    {
        // Opening a FIFO waits for a writer: generate, eval and runs hung for ever on one in place of a checkpoint.
        using var dir = new TempDir();
        var path = Fifo.Make(Path.Combine(dir.Path, "last.ckpt"));
        var expected = $"checkpoint {path} is unusable: 0 bytes (an empty file, or a pipe or device)";
        Assert.Equal(expected, Assert.Throws<DataException>(() => Fifo.Within(path, () => Checkpoint.Load(path))).Message);
        Assert.Equal(expected, Assert.Throws<DataException>(() => Fifo.Within(path, () => Checkpoint.ReadSummary(path))).Message);
        Assert.Null(Fifo.Within(path, () => Checkpoint.ReadConfig(path)));
    }

    [Fact]
    public void ALinkToNothing_IsNotFound()
    {
        // It was .NET's "Could not find file", as if the link were a file that vanished.
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        File.CreateSymbolicLink(path, "/nonexistent");
        Assert.Equal($"checkpoint {path} not found", Assert.Throws<DataException>(() => Checkpoint.Load(path)).Message);
    }

    [Fact]
    public void AnAnonymousPipe_IsNamedAsOne()
    {
        // --checkpoint <(cat last.ckpt) was an internal error: NotSupportedException, "Stream does not support seeking".
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        var path = $"/proc/self/fd/{pipe.ClientSafePipeHandle.DangerousGetHandle()}";
        pipe.Write("MGCKPT01"u8);
        var expected = $"checkpoint {path} is unusable: it is a pipe, not a file (a checkpoint is read by offset)";
        Assert.Equal(expected, Assert.Throws<DataException>(() => Checkpoint.Load(path)).Message);
        Assert.Equal(expected, Assert.Throws<DataException>(() => Checkpoint.ReadSummary(path)).Message);
        Assert.Null(Checkpoint.ReadConfig(path));
    }

    [Fact]
    public void ReadSummary_SaysWhatLoadSays_WithoutReadingATensorOrTheChecksum()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        var s = State();
        Checkpoint.Save(path, s);
        var summary = Checkpoint.ReadSummary(path);
        Assert.Equal(s.Config, summary.Config);
        Assert.Equal(s.Tokenizer.Chars, summary.Tokenizer.Chars);
        Assert.Equal((s.VocabSize, s.Step, s.BestValLoss, s.TokensSeen, s.ElapsedSeconds), (summary.VocabSize, summary.Step, summary.BestValLoss, summary.TokensSeen, summary.ElapsedSeconds));
        Assert.Equal(864, summary.Parameters);   // the 1-layer model's weights (see CraftedMetadata), not AdamW's moments

        // A damaged weight goes unnoticed by the summary, which never reads one; loading reports it.
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        Assert.Equal(summary, Checkpoint.ReadSummary(path) with { Tokenizer = summary.Tokenizer });   // (a description's arrays compare by reference)
        Assert.Contains("checksum mismatch", Assert.Throws<DataException>(() => Checkpoint.Load(path)).Message);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Contains("it is truncated or damaged", Assert.Throws<DataException>(() => Checkpoint.ReadSummary(path)).Message);
    }

    [Fact]
    public void WeightsOnly_LeavesTheMomentsUnread_ButChecksTheWholeFile()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "last.ckpt");
        var s = State();
        Checkpoint.Save(path, s);
        var r = Checkpoint.Load(path, chunkFloats: 5, weightsOnly: true);
        Assert.Equal(s.Tensors.Keys.Where(k => k.StartsWith("model/")).Order(), r.Tensors.Keys.Order());
        foreach (var (k, t) in r.Tensors) Assert.True(t.equal(s.Tensors[k]).all().item<bool>(), k);
        Assert.Equal((s.Step, s.OptimizerStep, s.TokensSeen), (r.Step, r.OptimizerStep, r.TokensSeen));

        // optim/v is written last: a flipped byte there is still found.
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("checksum mismatch", Assert.Throws<DataException>(() => Checkpoint.Load(path, weightsOnly: true)).Message);
    }

    [Fact]
    public void ParameterCount_FromTheShapeAlone_EqualsTheBuiltModels()
    {
        foreach (var encoding in Enum.GetValues<PositionEncoding>())
            foreach (var bias in new[] { false, true })
                foreach (var inner in new int?[] { null, 5 })
                {
                    var c = new GptConfig(VocabSize: 11, BlockSize: 7, NLayer: 2, NHead: 2, NEmbd: 8, Bias: bias, PositionEncoding: encoding, NInner: inner);
                    using var model = new Gpt(c);
                    Assert.True(model.ParameterCount == c.ParameterCount, $"{encoding}, bias {bias}, n_inner {inner}: model {model.ParameterCount}, formula {c.ParameterCount}");
                }
    }
}
