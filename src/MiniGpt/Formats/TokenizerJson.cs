using System.Text.Encodings.Web;
using System.Text.Json;
using MiniGpt.IO;

namespace MiniGpt.Formats;

/// <summary>
/// Writes tokenizer.json, the file of Hugging Face's tokenizers library: a pipeline of normalizer, pre-tokenizer,
/// model, post-processor and decoder, plus added tokens. Keys come in the order that library writes them, and the
/// bytes depend only on the input.
/// </summary>
static class TokenizerJson
{
    /// <summary>Two-space indent and "\n" on every platform, so the same tokenizer gives the same bytes.</summary>
    public static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A JSON file written atomically, its body filled in by <paramref name="body"/> inside one object.</summary>
    public static void WriteObject(string path, Action<Utf8JsonWriter> body) => AtomicFile.Write(path, stream =>
    {
        using var w = new Utf8JsonWriter(stream, Options);
        w.WriteStartObject();
        body(w);
        w.WriteEndObject();
    });

    /// <summary>
    /// A byte-level BPE in the form Hugging Face's TikTokenConverter gives: <paramref name="pattern"/> splits text
    /// (Split, isolated), ByteLevel without its own regex turns each piece's UTF-8 bytes into the byte alphabet, the
    /// BPE model merges, and the ByteLevel decoder turns tokens back into bytes and text.
    /// </summary>
    public static void WriteByteLevelBpe(string path, ByteLevelBpe bpe, string pattern, IReadOnlyList<(string Content, int Id)> special)
        => WriteObject(path, w =>
        {
            Header(w, special);
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            Split(w, OnigurumaPattern.FromDotNet(pattern));
            ByteLevel(w, addPrefixSpace: false, trimOffsets: true, useRegex: false);
            w.WriteEndArray();
            w.WriteEndObject();
            // Offsets only (trim_offsets false): it adds no tokens.
            w.WritePropertyName("post_processor");
            ByteLevel(w, addPrefixSpace: true, trimOffsets: false, useRegex: true);
            w.WritePropertyName("decoder");
            ByteLevel(w, addPrefixSpace: true, trimOffsets: true, useRegex: true);
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", bpe.IgnoreMerges);
            Vocab(w, bpe.Vocab);
            // "left right" strings rather than pairs: every version of the library reads them, and byte-level
            // tokens never hold a space (the byte alphabet spells it Ġ), so they are unambiguous.
            w.WriteStartArray("merges");
            foreach (var (left, right) in bpe.Merges) w.WriteStringValue(left + " " + right);
            w.WriteEndArray();
            w.WriteEndObject();
        });

    /// <summary>
    /// MiniGpt's char vocabulary: every character is its own piece (Split on "[\s\S]", isolated, so spaces and
    /// newlines stay pieces too), WordLevel maps it to its id, and Fuse joins tokens back without separators.
    /// MiniGpt refuses text with a character outside the vocabulary; WordLevel does the same when its unk_token
    /// is not in the vocabulary, which a multi-character name never is, so encoding such text fails in both. What
    /// differs is the message: MiniGpt lists the characters, Hugging Face says "Missing [UNK] token".
    /// </summary>
    public static void WriteChars(string path, IReadOnlyList<string> chars) => WriteObject(path, w =>
    {
        Header(w, []);
        w.WriteNull("normalizer");
        w.WritePropertyName("pre_tokenizer");
        Split(w, @"[\s\S]");
        w.WriteNull("post_processor");
        w.WriteStartObject("decoder");
        w.WriteString("type", "Fuse");
        w.WriteEndObject();
        w.WriteStartObject("model");
        w.WriteString("type", "WordLevel");
        Vocab(w, chars.Select((c, id) => (c, id)).ToList());
        w.WriteString("unk_token", "<unk>");
        w.WriteEndObject();
    });

    static void Header(Utf8JsonWriter w, IReadOnlyList<(string Content, int Id)> special)
    {
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        foreach (var (content, id) in special.OrderBy(s => s.Id))
        {
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", content);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    static void Split(Utf8JsonWriter w, string pattern)
    {
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        w.WriteString("Regex", pattern);
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
    }

    static void ByteLevel(Utf8JsonWriter w, bool addPrefixSpace, bool trimOffsets, bool useRegex)
    {
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace);
        w.WriteBoolean("trim_offsets", trimOffsets);
        w.WriteBoolean("use_regex", useRegex);
        w.WriteEndObject();
    }

    static void Vocab(Utf8JsonWriter w, IReadOnlyList<(string Token, int Id)> vocab)
    {
        w.WriteStartObject("vocab");
        foreach (var (token, id) in vocab) w.WriteNumber(token, id);
        w.WriteEndObject();
    }
}
