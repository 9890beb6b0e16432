using System.Text.Json.Serialization;

namespace MiniGpt.Data;

/// <summary>The tokenizers MiniGpt builds; configs, meta.json and checkpoints spell them as below.</summary>
public enum TokenizerKind
{
    /// <summary>One id per character of the corpus (nanoGPT's shakespeare_char).</summary>
    Char,
    [JsonStringEnumMemberName("cl100k_base")] Cl100kBase,
    [JsonStringEnumMemberName("o200k_base")] O200kBase,
    /// <summary>A byte-level BPE from GPT-2 style vocab.json + merges.txt, or from a .tiktoken file.</summary>
    Bpe,
}

/// <summary>Text ↔ token ids. Every tokenizer can describe itself so that a cache or checkpoint can restore it.</summary>
public interface ITokenizer
{
    TokenizerKind Kind { get; }

    /// <summary>One more than the largest id it can produce.</summary>
    int VocabSize { get; }

    IReadOnlyList<int> Encode(string text);

    /// <summary>
    /// Appends the ids of <paramref name="text"/> to <paramref name="ids"/>: those <see cref="Encode(string)"/> gives,
    /// without a string or a list of their own (a prepare encodes its corpus so). No default: one through
    /// <see cref="Encode(string)"/> would copy every document it is given.
    /// </summary>
    void Encode(ReadOnlySpan<char> text, List<int> ids);

    string Decode(IEnumerable<int> ids);

    TokenizerDescription Describe();

    /// <summary>
    /// A tokenizer that gives the same ids and can encode on another thread at the same time as this one, without
    /// sharing anything it writes to. Tokenizers that only read (char) are their own.
    /// </summary>
    ITokenizer ForAnotherThread() => this;
}

/// <summary>
/// Everything needed to rebuild a tokenizer, stored in a cache's meta.json and in checkpoints.
/// </summary>
/// <param name="Chars">char: the vocabulary, in id order.</param>
/// <param name="VocabJson">bpe (GPT-2 style): the contents of vocab.json.</param>
/// <param name="Merges">bpe (GPT-2 style): the contents of merges.txt.</param>
/// <param name="Tiktoken">bpe: the contents of a .tiktoken file (instead of VocabJson + Merges).</param>
/// <param name="CompactIds">With a compact vocabulary: the original id of each compact id; the id after the last is "unknown".</param>
public sealed record TokenizerDescription(
    TokenizerKind Kind,
    string? Chars = null,
    string? VocabJson = null,
    string? Merges = null,
    string? Tiktoken = null,
    int[]? CompactIds = null)
{
    /// <summary>Whether both describe the same ids for the same text (a record compares arrays by reference).</summary>
    public bool SameTokenizer(TokenizerDescription other)
        => (Kind, Chars, VocabJson, Merges, Tiktoken) == (other.Kind, other.Chars, other.VocabJson, other.Merges, other.Tiktoken)
           && (CompactIds ?? []).SequenceEqual(other.CompactIds ?? []) && (CompactIds is null) == (other.CompactIds is null);
}
