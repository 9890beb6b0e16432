using System.Text;
using System.Text.Json;

namespace MiniGpt.Data;

/// <summary>
/// Writes meta.json as <see cref="JsonSerializer"/> does with <see cref="TokenCacheMeta.Json"/>, byte for byte, with
/// Utf8JsonWriter alone. The serializer's first call compiled some 250 generic methods: about 37 ms at the end of
/// every prepare, as long as the cache's own flush and landing (docs/benchmarks.md). Reading stays with the serializer.
/// </summary>
static class TokenCacheMetaJson
{
    public static string Write(TokenCacheMeta m)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = TokenCacheMeta.Json.Encoder }))
        {
            w.WriteStartObject();
            w.WriteNumber(Name(nameof(m.FormatVersion)), m.FormatVersion);
            if (m.Tokenizer is { } tokenizer)
            {
                w.WritePropertyName(Name(nameof(m.Tokenizer)));
                Write(w, tokenizer);
            }
            w.WriteNumber(Name(nameof(m.VocabSize)), m.VocabSize);
            w.WriteNumber(Name(nameof(m.BytesPerToken)), m.BytesPerToken);
            w.WriteNumber(Name(nameof(m.CorpusBytes)), m.CorpusBytes);
            Optional(w, nameof(m.CorpusSha256), m.CorpusSha256);
            if (m.CorpusFiles is { } files)
            {
                w.WriteStartArray(Name(nameof(m.CorpusFiles)));
                foreach (var f in files) w.WriteStringValue(f);
                w.WriteEndArray();
            }
            w.WriteNumber(Name(nameof(m.ValFraction)), m.ValFraction);
            w.WriteNumber(Name(nameof(m.TrainTokens)), m.TrainTokens);
            w.WriteNumber(Name(nameof(m.ValTokens)), m.ValTokens);
            w.WriteNumber(Name(nameof(m.TrainChars)), m.TrainChars);
            w.WriteNumber(Name(nameof(m.ValChars)), m.ValChars);
            w.WriteNumber(Name(nameof(m.TrainBytes)), m.TrainBytes);
            w.WriteNumber(Name(nameof(m.ValBytes)), m.ValBytes);
            Optional(w, nameof(m.Documents), m.Documents);
            Optional(w, nameof(m.ValDocuments), m.ValDocuments);
            Optional(w, nameof(m.SkippedDocuments), m.SkippedDocuments);
            Optional(w, nameof(m.TextField), m.TextField);
            if (m.Sources is { } sources)
            {
                w.WriteStartArray(Name(nameof(m.Sources)));
                foreach (var s in sources)
                {
                    w.WriteStartObject();
                    Optional(w, nameof(s.Path), s.Path);
                    w.WriteNumber(Name(nameof(s.Bytes)), s.Bytes);
                    Optional(w, nameof(s.Sha256), s.Sha256);
                    w.WriteString(Name(nameof(s.ModifiedUtc)), s.ModifiedUtc);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    static void Write(Utf8JsonWriter w, TokenizerDescription d)
    {
        w.WriteStartObject();
        w.WriteString(Name(nameof(d.Kind)), Choices.Name(d.Kind));
        foreach (var (property, text) in new[] { (nameof(d.Chars), d.Chars), (nameof(d.VocabJson), d.VocabJson), (nameof(d.Merges), d.Merges), (nameof(d.Tiktoken), d.Tiktoken) })
            Optional(w, property, text);
        if (d.CompactIds is { } ids)
        {
            w.WriteStartArray(Name(nameof(d.CompactIds)));
            foreach (int id in ids) w.WriteNumberValue(id);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>A property the serializer leaves out when null (<see cref="TokenCacheMeta.Json"/>'s DefaultIgnoreCondition), as it does any null, the record's declared types notwithstanding.</summary>
    static void Optional(Utf8JsonWriter w, string property, long? value)
    {
        if (value is { } v) w.WriteNumber(Name(property), v);
    }

    static void Optional(Utf8JsonWriter w, string property, string? value)
    {
        if (value is { } v) w.WriteString(Name(property), v);
    }

    static string Name(string property) => JsonNamingPolicy.SnakeCaseLower.ConvertName(property);
}
