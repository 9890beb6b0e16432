using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Checkpoints;

/// <summary>Everything needed to continue a run exactly where it stopped.</summary>
public sealed record CheckpointState
{
    public required TrainConfig Config { get; init; }
    public required TokenizerDescription Tokenizer { get; init; }
    public required int VocabSize { get; init; }
    public required int Step { get; init; }
    public required double BestValLoss { get; init; }
    public required long OptimizerStep { get; init; }
    public required long TokensSeen { get; init; }
    public required double ElapsedSeconds { get; init; }
    public required byte[] TorchRngState { get; init; }
    public required ulong[] TrainSamplerState { get; init; }
    /// <summary>"model/&lt;parameter name&gt;" for each parameter, plus "optim/m" and "optim/v"; float32 on the CPU.</summary>
    public required IReadOnlyDictionary<string, Tensor> Tensors { get; init; }
}

/// <summary>
/// A checkpoint file: a 32-byte header (magic "MGCKPT01", uint32 version, uint32 0, int64 payload length,
/// uint32 CRC-32C of the payload, uint32 0) and the payload: uint32 JSON length, the JSON (scalars, states,
/// tensor index), then the raw tensor bytes. Written atomically; a flipped byte or a truncated file is
/// reported with the file named, never loaded.
/// </summary>
public static class Checkpoint
{
    /// <summary>A run's checkpoints in its out_dir: the latest, and the one with the lowest val loss.</summary>
    public const string LastFile = "last.ckpt", BestFile = "best.ckpt";

    const int HeaderSize = 32;
    const uint Version = 1;
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("MGCKPT01");

    sealed record TensorEntry(string Name, string Dtype, long[] Shape, long Offset, long Length);

    sealed record Meta(
        JsonElement Config, TokenizerDescription Tokenizer, int VocabSize, int Step, double BestValLoss, long OptimizerStep,
        long TokensSeen, double ElapsedSeconds, string TorchRngState, ulong[] TrainSamplerState, List<TensorEntry> Tensors);

    /// <param name="wrap">Lets tests put a failing stream under the writer; null in normal use.</param>
    public static void Save(string path, CheckpointState s, Func<Stream, Stream>? wrap = null)
    {
        var entries = new List<TensorEntry>();
        long offset = 0;
        foreach (var (name, t) in s.Tensors)
        {
            if (t.dtype != ScalarType.Float32) throw new ArgumentException($"checkpoint tensor {name} is {t.dtype}; expected float32");
            long length = t.numel() * 4;
            entries.Add(new TensorEntry(name, "float32", t.shape, offset, length));
            offset += length;
        }
        var meta = new Meta(JsonDocument.Parse(TrainConfig.Schema.ToJson(s.Config)).RootElement, s.Tokenizer, s.VocabSize, s.Step,
            s.BestValLoss, s.OptimizerStep, s.TokensSeen, s.ElapsedSeconds, Convert.ToBase64String(s.TorchRngState),
            s.TrainSamplerState, entries);
        var json = JsonSerializer.SerializeToUtf8Bytes(meta, TokenCacheMeta.Json);

        long payloadLength = 4 + json.Length + offset;
        uint crc = Crc32C.Compute(BitConverter.GetBytes((uint)json.Length));
        crc = Crc32C.Append(crc, json);
        var blobs = s.Tensors.Values.Select(t => t.detach().cpu().contiguous()).ToList();
        foreach (var b in blobs) crc = Crc32C.Append(crc, b.bytes);

        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), crc);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            stream.Write(BitConverter.GetBytes((uint)json.Length));
            stream.Write(json);
            foreach (var b in blobs) stream.Write(b.bytes);
        }, wrap);
        foreach (var b in blobs) b.Dispose();
    }

    /// <summary>Copies the saved "model/…" tensors into <paramref name="model"/>'s parameters; a missing one is an error naming the file.</summary>
    public static void CopyWeightsInto(CheckpointState s, Model.Gpt model, string path)
    {
        using var _ = no_grad();
        foreach (var (name, p) in model.UniqueParameters())
        {
            if (!s.Tensors.TryGetValue("model/" + name, out var t)) throw new DataException(path, $"checkpoint {path} lacks parameter {name}");
            if (!t.shape.SequenceEqual(p.shape)) throw new DataException(path, $"checkpoint {path}: parameter {name} has shape [{string.Join(", ", t.shape)}], the model needs [{string.Join(", ", p.shape)}]");
            p.copy_(t);
        }
    }

    public static CheckpointState Load(string path)
    {
        if (!File.Exists(path)) throw new DataException(path, $"checkpoint {path} not found");
        var bytes = File.ReadAllBytes(path);
        DataException Bad(string why) => new(path, $"checkpoint {path} is unusable: {why}");
        if (bytes.Length < HeaderSize || !bytes.AsSpan(0, 8).SequenceEqual(Magic)) throw Bad("not a MiniGpt checkpoint (bad magic)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        if (version != Version) throw Bad($"format version {version}; this MiniGpt reads version {Version}");
        long payloadLength = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16));
        if (payloadLength != bytes.Length - HeaderSize)
            throw Bad($"header says {payloadLength} payload bytes but the file holds {bytes.Length - HeaderSize}; it is truncated or damaged");
        var payload = bytes.AsSpan(HeaderSize);
        if (Crc32C.Compute(payload) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)))
            throw Bad("checksum mismatch; the file is damaged");
        int jsonLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(payload);
        Meta meta;
        try { meta = JsonSerializer.Deserialize<Meta>(payload.Slice(4, jsonLength), TokenCacheMeta.Json) ?? throw Bad("empty metadata"); }
        catch (JsonException e) { throw Bad($"damaged metadata: {e.Message}"); }
        TrainConfig config;
        try { config = TrainConfig.Schema.FromJson(meta.Config, $"checkpoint {path}"); }
        catch (ConfigException e) { throw Bad($"its config is invalid: {string.Join("; ", e.Problems.Select(p => p.Setting))}"); }
        var data = payload[(4 + jsonLength)..];
        var tensors = new Dictionary<string, Tensor>();
        foreach (var e in meta.Tensors)
        {
            var t = empty(e.Shape, ScalarType.Float32);
            t.bytes = data.Slice((int)e.Offset, (int)e.Length);
            tensors[e.Name] = t;
        }
        return new CheckpointState
        {
            Config = config,
            Tokenizer = meta.Tokenizer,
            VocabSize = meta.VocabSize,
            Step = meta.Step,
            BestValLoss = meta.BestValLoss,
            OptimizerStep = meta.OptimizerStep,
            TokensSeen = meta.TokensSeen,
            ElapsedSeconds = meta.ElapsedSeconds,
            TorchRngState = Convert.FromBase64String(meta.TorchRngState),
            TrainSamplerState = meta.TrainSamplerState,
            Tensors = tensors,
        };
    }
}
