using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGpt.IO;

namespace MiniGpt.Data;

/// <summary>A token cache's meta.json: how the tokens were made, and from what.</summary>
public sealed record TokenCacheMeta(
    int FormatVersion,
    TokenizerDescription Tokenizer,
    int VocabSize,
    int BytesPerToken,
    long CorpusBytes,
    string CorpusSha256,
    IReadOnlyList<string> CorpusFiles,
    double ValFraction,
    long TrainTokens,
    long ValTokens,
    long TrainChars,
    long ValChars,
    long TrainBytes,
    long ValBytes)
{
    /// <summary>A corpus of documents: how many were read (train and val), and how many of them val holds.</summary>
    public long? Documents { get; init; }
    public long? ValDocuments { get; init; }

    /// <summary>A corpus of documents: bad documents skipped (a corrupt stream or row group counts once).</summary>
    public long? SkippedDocuments { get; init; }

    /// <summary>The JSON or Parquet field the text was read from.</summary>
    public string? TextField { get; init; }

    /// <summary>Each source file with its size and SHA-256 (absent from caches built before they were recorded).</summary>
    public IReadOnlyList<SourceFile>? Sources { get; init; }

    public const int CurrentFormat = 2;
    public const string FileName = "meta.json";
    public const string TrainFile = "train.bin";
    public const string ValFile = "val.bin";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { Choices.JsonConverter },
        // Metadata made at build time for the records read and written most: reflection and JIT took about 0.1 s of each prepare's end.
        TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.Combine(
            MetaJsonContext.Default, new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver()),
    };

    public void Save(string dir) => Writer(dir)();

    /// <summary>Writes meta.json when called, its text made now: a cache's replacement waits on no serializer between moving the old one aside and landing this.</summary>
    public Action Writer(string dir)
    {
        var text = TokenCacheMetaJson.Write(this);
        return () => AtomicFile.WriteAllText(Path.Combine(dir, FileName), text);
    }

    /// <summary>
    /// True when dir holds a sound meta.json of another format version, which its corpus can rebuild. A damaged
    /// one is not outdated: rebuilding would hide the damage, so <see cref="Load"/> reports it instead.
    /// </summary>
    public static bool IsOutdated(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return false;
        try
        {
            if ((IO.EmptyFile.Size(path) ?? 0) > MaxBytes) return false;   // Load reports it
            using var doc = JsonDocument.Parse(Text(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("format_version", out var v)
                && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int version) && version != CurrentFormat;
        }
        catch (Exception e) when (e is JsonException or DataException)   // Load reports it
        {
            return false;
        }
    }

    /// <summary>meta.json's text up to <see cref="MaxBytes"/> characters: a file that grows past its size is still read only to the limit.</summary>
    static string Text(string path) => IO.EmptyFile.Is(path) ? throw new DataException(path, $"{path}: {IO.EmptyFile.Says}")
        : IO.TextFile.Read(path, (int)MaxBytes, $"a {FileName}");

    /// <summary>
    /// The largest meta.json read: 256 MB. It holds a BPE's vocabulary and merges (GPT-2's: 1.5 MB) and a line per
    /// source file (100,000 shards: about 15 MB).
    /// </summary>
    public const long MaxBytes = 256L << 20;

    public static TokenCacheMeta Load(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new TokenCacheException(dir, $"no token cache at {dir} ({FileName} missing)", missing: true);
        if ((IO.EmptyFile.Size(path) ?? 0) is var size and > MaxBytes)
            throw new TokenCacheException(dir, $"{path}: damaged metadata: {size:N0} bytes, more than the {MaxBytes:N0} a {FileName} may have");
        TokenCacheMeta? meta;
        try { meta = JsonSerializer.Deserialize<TokenCacheMeta>(Text(path), Json); }
        catch (JsonException e) { throw new TokenCacheException(dir, $"{path}: damaged metadata: {e.Message}", inner: e); }
        catch (DataException e) { throw new TokenCacheException(dir, e.Message, inner: e); }
        if (meta is null || meta.Tokenizer is null || meta.CorpusSha256 is null)
            throw new TokenCacheException(dir, $"{path}: damaged metadata: required fields are missing");
        if (meta.FormatVersion != CurrentFormat)
            throw new TokenCacheException(dir, $"{path}: cache format {meta.FormatVersion}; this MiniGpt reads format {CurrentFormat}");
        if (meta.CountProblem() is { } counts) throw new TokenCacheException(dir, $"{path}: damaged metadata: {counts}");
        return meta;
    }

    /// <summary>A split's sizes that cannot be (negative, or tokens made of no characters): eval divides by them.</summary>
    string? CountProblem()
    {
        foreach (var (split, tokens, chars, bytes) in new[] { ("train", TrainTokens, TrainChars, TrainBytes), ("val", ValTokens, ValChars, ValBytes) })
        {
            if (tokens < 0 || chars < 0 || bytes < 0) return $"{split}_tokens, {split}_chars and {split}_bytes must be ≥ 0, not {tokens}, {chars} and {bytes}";
            if (tokens > 0 && (chars == 0 || bytes < chars)) return $"{tokens} {split} tokens cannot be {chars} characters in {bytes} bytes";
        }
        return null;
    }
}

/// <summary>
/// Source-generated JSON metadata for <see cref="TokenCacheMeta.Json"/>, whose options still govern names and converters.
/// Not to be used alone: its own options know nothing of <see cref="Choices.JsonConverter"/>, so enums would be numbers.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TokenCacheMeta))]
[JsonSerializable(typeof(TokenizerDescription))]
sealed partial class MetaJsonContext : JsonSerializerContext;
