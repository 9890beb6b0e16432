namespace MiniGpt.Data;

/// <summary>Builds tokenizers by kind or from a saved <see cref="TokenizerDescription"/>.</summary>
public static class Tokenizers
{
    /// <summary>A BPE-family tokenizer; char vocabularies come from a corpus instead.</summary>
    /// <param name="vocabFile">bpe: a GPT-2 style vocab.json, with <paramref name="mergesFile"/>.</param>
    /// <param name="tiktokenFile">bpe: a .tiktoken rank file instead of vocab.json and merges.txt.</param>
    public static ITokenizer CreateBpe(TokenizerKind kind, string? vocabFile = null, string? mergesFile = null, string? tiktokenFile = null)
    {
        switch (kind)
        {
            case TokenizerKind.Cl100kBase:
            case TokenizerKind.O200kBase:
                return LibraryTokenizer.Tiktoken(kind);
            case TokenizerKind.Bpe:
                if (tiktokenFile is not null)
                    return LibraryTokenizer.TiktokenFile(ReadFile(tiktokenFile, ".tiktoken file"), tiktokenFile);
                if (vocabFile is null || mergesFile is null)
                    throw new ConfigException([new ConfigProblem("tokenizer", "bpe", "needs a vocab.json and a merges.txt, or a .tiktoken file")]);
                return LibraryTokenizer.Gpt2Bpe(ReadFile(vocabFile, "vocab file"), ReadFile(mergesFile, "merges file"), vocabFile, mergesFile);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a BPE tokenizer");
        }
    }

    /// <param name="source">The file the description was read from, for messages.</param>
    public static ITokenizer FromDescription(TokenizerDescription d, string source)
    {
        DataException Missing(string what) => new(source, $"{source}: the {Choices.Name(d.Kind)} tokenizer description has no {what}");
        ITokenizer t = d.Kind switch
        {
            TokenizerKind.Char => CharTokenizer.FromDescription(d.Chars is { Length: > 0 } chars ? chars : throw Missing("characters")),
            TokenizerKind.Cl100kBase or TokenizerKind.O200kBase => LibraryTokenizer.Tiktoken(d.Kind),
            TokenizerKind.Bpe when d.Tiktoken is not null => LibraryTokenizer.TiktokenFile(d.Tiktoken, source),
            TokenizerKind.Bpe => LibraryTokenizer.Gpt2Bpe(d.VocabJson ?? throw Missing("vocabulary"), d.Merges ?? throw Missing("merges"), source, source),
            _ => throw new DataException(source, $"{source}: unknown tokenizer kind {(int)d.Kind}"),
        };
        if (d.CompactIds is null) return t;
        for (int i = 0; i < d.CompactIds.Length; i++)
            if (d.CompactIds[i] < 0 || d.CompactIds[i] >= t.VocabSize || (i > 0 && d.CompactIds[i] <= d.CompactIds[i - 1]))
                throw new DataException(source, $"{source}: compact id {i} stands for {d.CompactIds[i]}, which is not an id of {Choices.Name(d.Kind)} above the one before it");
        return new CompactTokenizer(t, d.CompactIds);
    }

    /// <summary>
    /// The id of GPT-2's end-of-text token &lt;|endoftext|&gt; when the tokenizer has it as one token (a special token,
    /// or a GPT-2 vocabulary's entry); null for char tokenizers and for vocabularies without it.
    /// </summary>
    public static int? EndOfTextId(ITokenizer tokenizer)
    {
        if (tokenizer.Kind == TokenizerKind.Char) return null;
        var ids = tokenizer.Encode(LibraryTokenizer.EndOfText);
        return ids.Count == 1 ? ids[0] : null;
    }

    /// <summary>The most ids a tokenizer may have: o200k_base has 200,019; ids index an embedding.</summary>
    public const int MaxVocabSize = 1 << 24;

    /// <summary>Far above any real vocabulary (o200k's ranks are 3.6 MB), and far below what reading would exhaust memory with.</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>A tokenizer file's text, refused unread when it is larger than any tokenizer's.</summary>
    public static string ReadFile(string path, string what)
    {
        if (!File.Exists(path)) throw new DataException(path, $"{what} {path} not found");
        long length = IO.EmptyFile.Size(path) ?? throw new DataException(path, $"{what} {path} not found (a link to nothing)");
        if (length > MaxFileBytes) throw new DataException(path, $"{what} {path} holds {length} bytes, more than any tokenizer's ({MaxFileBytes})");
        if (length == 0) throw new DataException(path, $"{what} {path}: {IO.EmptyFile.Says}");
        return IO.TextFile.Read(path, (int)MaxFileBytes, $"a {what}");   // a file that grows past its size is still read only to the limit
    }
}
