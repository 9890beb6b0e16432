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
    /// <summary>The SHA-256 of the corpus the run's token cache was made from; null in checkpoints from before it was recorded.</summary>
    public string? CorpusSha256 { get; init; }
    /// <summary>"model/&lt;parameter name&gt;" for each parameter, plus "optim/m" and "optim/v" (unless loaded for its weights only); float32 on the CPU.</summary>
    public required IReadOnlyDictionary<string, Tensor> Tensors { get; init; }
}

/// <summary>What a checkpoint says of its run, without its tensors: see <see cref="Checkpoint.ReadSummary"/>.</summary>
/// <param name="Parameters">The model's weights, counted from the tensor index.</param>
public sealed record CheckpointSummary(TrainConfig Config, TokenizerDescription Tokenizer, int VocabSize, int Step, double BestValLoss,
    long TokensSeen, double ElapsedSeconds, long Parameters);

/// <summary>
/// A checkpoint file: a 32-byte header (magic "MGCKPT01", uint32 version, uint32 0, int64 payload length,
/// uint32 CRC-32C of the payload, uint32 0) and the payload: uint32 JSON length, the JSON (scalars, states,
/// tensor index), then the raw float32 tensor bytes, back to back in index order. Written atomically. A file
/// is untrusted: its size, checksum, every field, every tensor's place and shape, and the number of weights
/// its config implies are all checked before any tensor is allocated, and any problem is reported with the
/// file named. Tensors stream in and out in pieces, so files over 2 GB work.
/// </summary>
public static class Checkpoint
{
    /// <summary>A run's checkpoints in its out_dir: the latest, and the one with the lowest val loss.</summary>
    public const string LastFile = "last.ckpt", BestFile = "best.ckpt";

    const int HeaderSize = 32;
    const uint Version = 1;
    const int MaxJsonBytes = 256 << 20;     // a GPT-2 BPE vocabulary and merges are about 1.5 MB
    const int MaxVocabSize = Tokenizers.MaxVocabSize;
    const int ChunkFloats = 1 << 22;        // 16 MB per read or write
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("MGCKPT01");

    sealed record TensorEntry(string Name, string Dtype, long[] Shape, long Offset, long Length);

    sealed record Meta(
        JsonElement Config, TokenizerDescription Tokenizer, int VocabSize, int Step, double BestValLoss, long OptimizerStep,
        long TokensSeen, double ElapsedSeconds, string TorchRngState, ulong[] TrainSamplerState, List<TensorEntry> Tensors,
        string? CorpusSha256 = null);

    /// <param name="wrap">Lets tests put a failing stream under the writer; null in normal use.</param>
    /// <param name="chunkFloats">How many floats each piece of a tensor holds (tests use small ones).</param>
    public static void Save(string path, CheckpointState s, Func<Stream, Stream>? wrap = null, int chunkFloats = ChunkFloats)
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
            s.TrainSamplerState, entries, s.CorpusSha256);
        var json = JsonSerializer.SerializeToUtf8Bytes(meta, TokenCacheMeta.Json);

        // The header, written first, holds the payload's CRC: one pass to compute it, one to write.
        uint crc = Crc32C.Compute(BitConverter.GetBytes((uint)json.Length));
        crc = Crc32C.Append(crc, json);
        foreach (var piece in Pieces(s.Tensors.Values, chunkFloats)) crc = Crc32C.Append(crc, piece);

        var header = new byte[HeaderSize];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), 4 + json.Length + offset);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), crc);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            stream.Write(BitConverter.GetBytes((uint)json.Length));
            stream.Write(json);
            foreach (var piece in Pieces(s.Tensors.Values, chunkFloats)) stream.Write(piece);
        }, wrap);
    }

    /// <summary>The tensors' bytes in pieces of at most 16 MB (a span cannot hold a tensor over 2 GB).</summary>
    static IEnumerable<byte[]> Pieces(IEnumerable<Tensor> tensors, int chunkFloats)
    {
        foreach (var t in tensors)
        {
            using var flat = t.detach().cpu().contiguous().reshape(-1);                // (n)
            for (long start = 0; start < flat.shape[0]; start += chunkFloats)
            {
                using var piece = flat.narrow(0, start, Math.Min(chunkFloats, flat.shape[0] - start));
                yield return piece.bytes.ToArray();
            }
        }
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

    /// <summary>
    /// The config stored in a checkpoint, read without its weights or checksum; null when the file is missing or
    /// its metadata cannot be read, which <see cref="Load"/> then reports in full.
    /// </summary>
    public static TrainConfig? ReadConfig(string path)
    {
        try
        {
            using var file = Open(path);   // missing, empty or a pipe: DataException, and null
            var header = new byte[HeaderSize + 4];
            if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || !header.AsSpan(0, 8).SequenceEqual(Magic)) return null;
            long jsonLength = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(HeaderSize));
            if (jsonLength > Math.Min(MaxJsonBytes, file.Length - header.Length)) return null;
            var json = new byte[jsonLength];
            file.ReadExactly(json);
            var meta = JsonSerializer.Deserialize<Meta>(json, TokenCacheMeta.Json);
            return meta is { Config.ValueKind: JsonValueKind.Object } ? TrainConfig.Schema.FromJson(meta.Config, $"checkpoint {path}") : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or ConfigException or DataException)
        {
            return null;
        }
    }

    /// <param name="chunkFloats">How many floats each read holds (tests use small ones).</param>
    /// <param name="weightsOnly">
    /// Read the model's weights and leave AdamW's moments unread, two thirds of the file: what sampling and
    /// evaluation need, in a third of the memory. The whole file is still checksummed.
    /// </param>
    public static CheckpointState Load(string path, int chunkFloats = ChunkFloats, bool weightsOnly = false)
    {
        using var file = Open(path);
        var (meta, config, rng, dataStart) = ReadMeta(file, path, checksum: true);
        // Every size is now known to agree with the file's length: allocating them cannot ask for more than it holds.
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            var buffer = new byte[chunkFloats * 4];
            foreach (var e in meta.Tensors.Where(e => !weightsOnly || e.Name.StartsWith("model/")))
            {
                var t = empty(e.Shape, ScalarType.Float32);
                tensors[e.Name] = t;
                using var flat = t.view(-1);                                                     // (n)
                file.Position = dataStart + e.Offset;
                for (long start = 0; start < flat.shape[0]; start += chunkFloats)
                {
                    int n = (int)Math.Min(chunkFloats, flat.shape[0] - start);
                    file.ReadExactly(buffer, 0, n * 4);
                    using var piece = flat.narrow(0, start, n);
                    piece.bytes = buffer.AsSpan(0, n * 4);
                }
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
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
            TorchRngState = rng,
            TrainSamplerState = meta.TrainSamplerState,
            CorpusSha256 = meta.CorpusSha256,
            Tensors = tensors,
        };
    }

    /// <summary>
    /// A checkpoint's metadata, checked as <see cref="Load"/> checks it (header, length, fields, config, tensor
    /// index), without reading a tensor or the checksum: for listing runs, whose checkpoints may be gigabytes each.
    /// </summary>
    public static CheckpointSummary ReadSummary(string path)
    {
        using var file = Open(path);
        var (meta, config, _, _) = ReadMeta(file, path, checksum: false);
        long weights = meta.Tensors.Where(e => e.Name.StartsWith("model/")).Sum(e => e.Shape.Aggregate(1L, (n, d) => n * d));
        return new CheckpointSummary(config, meta.Tokenizer, meta.VocabSize, meta.Step, meta.BestValLoss, meta.TokensSeen, meta.ElapsedSeconds, weights);
    }

    static FileStream Open(string path)
    {
        // Through links: .NET takes a link to nothing for a file, which then could not be opened.
        if (EmptyFile.Size(path) is not { } size) throw new DataException(path, $"checkpoint {path} not found");
        if (size == 0) throw new DataException(path, $"checkpoint {path} is unusable: {EmptyFile.Says}");
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        if (file.CanSeek) return file;
        file.Dispose();   // <(cat x.ckpt): its tensors are read by offset, and its checksum first
        throw new DataException(path, $"checkpoint {path} is unusable: it is a pipe, not a file (a checkpoint is read by offset)");
    }

    /// <summary>
    /// The header, the checksum when asked, and the metadata, each checked; the file is then known to hold every
    /// tensor its index lists, which starts at <c>DataStart</c>. Every problem names the file.
    /// </summary>
    static (Meta Meta, TrainConfig Config, byte[] Rng, long DataStart) ReadMeta(FileStream file, string path, bool checksum)
    {
        DataException Bad(string why) => new(path, $"checkpoint {path} is unusable: {why}");
        long fileLength = file.Length;
        var header = new byte[HeaderSize];
        if (file.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize || !header.AsSpan(0, 8).SequenceEqual(Magic))
            throw Bad("not a MiniGpt checkpoint (bad magic)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        if (version != Version) throw Bad($"format version {version}; this MiniGpt reads version {Version}");
        long payloadLength = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
        if (payloadLength != fileLength - HeaderSize)
            throw Bad($"header says {payloadLength} payload bytes but the file holds {fileLength - HeaderSize}; it is truncated or damaged");
        if (payloadLength < 4) throw Bad($"header says {payloadLength} payload bytes, too few for the length of its metadata");
        if (checksum && Checksum(file, payloadLength) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(24)))
            throw Bad("checksum mismatch; the file is damaged");

        file.Position = HeaderSize;
        var lengthBytes = new byte[4];
        file.ReadExactly(lengthBytes);
        long jsonLength = BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (jsonLength > Math.Min(MaxJsonBytes, payloadLength - 4)) throw Bad($"its metadata claims {jsonLength} bytes");
        var json = new byte[jsonLength];
        file.ReadExactly(json);
        Meta meta;
        try { meta = JsonSerializer.Deserialize<Meta>(json, TokenCacheMeta.Json) ?? throw Bad("empty metadata"); }
        catch (JsonException e) { throw Bad($"damaged metadata: {e.Message}"); }
        if (meta.Config.ValueKind != JsonValueKind.Object || meta.Tokenizer is null || meta.TorchRngState is null || meta.TrainSamplerState is null || meta.Tensors is null)
            throw Bad("damaged metadata: a required field is missing");
        TrainConfig config;
        try { config = TrainConfig.Schema.FromJson(meta.Config, $"checkpoint {path}"); }
        catch (ConfigException e) { throw Bad($"its config is invalid: {string.Join("; ", e.Problems.Select(p => p.Setting))}"); }
        if (meta.VocabSize is < 1 or > MaxVocabSize) throw Bad($"vocab_size {meta.VocabSize} is outside [1, {MaxVocabSize}]");
        if (meta.Step < 0 || meta.OptimizerStep < 0 || meta.TokensSeen < 0 || !(meta.ElapsedSeconds >= 0) || double.IsNaN(meta.BestValLoss))
            throw Bad("damaged metadata: a negative step, token count or time, or a NaN loss");
        byte[] rng;
        try { rng = Convert.FromBase64String(meta.TorchRngState); }
        catch (FormatException) { throw Bad("its random-number state is not base64"); }
        if (CpuRngState.Problem(rng) is { } rngProblem) throw Bad($"its random-number state {rngProblem}");
        if (meta.TrainSamplerState is not { Length: 4 } || meta.TrainSamplerState.All(v => v == 0))
            throw Bad("its sampler state is not four integers, not all zero");

        long dataLength = payloadLength - 4 - jsonLength;
        long parameters = config.ToGptConfig(meta.VocabSize).ParameterCount;
        if (CheckIndex(meta.Tensors, dataLength, parameters) is { } indexProblem) throw Bad(indexProblem);
        return (meta, config, rng, HeaderSize + 4 + jsonLength);
    }

    static uint Checksum(FileStream file, long payloadLength)
    {
        file.Position = HeaderSize;
        var buffer = new byte[1 << 20];
        uint crc = 0;
        for (long left = payloadLength; left > 0;)
        {
            int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new EndOfStreamException();
            crc = Crc32C.Append(crc, buffer.AsSpan(0, n));
            left -= n;
        }
        return crc;
    }

    /// <summary>
    /// What is wrong with a tensor index, or null: each tensor float32, its bytes its shape's, in order with no gap
    /// or overlap, ending where the file does; the weights as many as the config implies; AdamW's moments one per weight.
    /// </summary>
    static string? CheckIndex(IReadOnlyList<TensorEntry> entries, long dataLength, long parameters)
    {
        const int MaxDims = 4;   // MiniGpt writes vectors and matrices
        long offset = 0, weights = 0;
        var names = new HashSet<string>();
        foreach (var e in entries)
        {
            if (e is null || string.IsNullOrEmpty(e.Name) || e.Shape is null) return "damaged tensor index: an entry without a name or shape";
            // The file's own words, shown escaped and cut: a name can hold a newline and a forged second line.
            string name = ConfigProblem.Name(e.Name);
            if (!names.Add(e.Name)) return $"tensor {name} is listed twice";
            if (e.Dtype != "float32") return $"tensor {name} is {ConfigProblem.Show(e.Dtype)}; this MiniGpt writes float32";
            if (e.Shape.Length > MaxDims) return $"tensor {name} has {e.Shape.Length:N0} dimensions; a MiniGpt tensor has at most {MaxDims}";
            string shape = $"[{string.Join(", ", e.Shape)}]";
            long count = 1;
            foreach (var d in e.Shape)
                // No tensor MiniGpt writes is empty; an empty one could still have dimensions whose strides overflow.
                if (d < 1) return $"tensor {name} has shape {shape}; every dimension must be at least 1";
                else if (count > dataLength / 4 / d) return $"tensor {name} has shape {shape}, more than the file holds";
                else count *= d;
            if (e.Length != count * 4) return $"tensor {name} has shape {shape} ({count * 4} bytes) but {e.Length} bytes";
            if (e.Offset != offset) return $"tensor {name} starts at byte {e.Offset} of the data; the tensor before it ends at {offset}";
            if (e.Length > dataLength - offset) return $"tensor {name} runs past the end of the file";
            offset += e.Length;
            if (e.Name.StartsWith("model/")) weights += count;
        }
        if (offset != dataLength) return $"its tensors take {offset} bytes but the file holds {dataLength}";
        if (weights != parameters) return $"it holds {weights} weights but its config makes a model of {parameters}";
        foreach (var moment in new[] { "optim/m", "optim/v" })
        {
            var e = entries.FirstOrDefault(x => x.Name == moment);
            if (e is null) return $"it lacks the optimizer tensor {moment}";
            if (e.Shape.Length != 1 || e.Shape[0] != parameters) return $"optimizer tensor {moment} has shape [{string.Join(", ", e.Shape)}]; the model has {parameters} weights";
        }
        return null;
    }
}
