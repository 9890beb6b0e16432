namespace MiniGpt.Data;

/// <summary>Builds tokenizers by name or from a saved <see cref="TokenizerDescription"/>.</summary>
public static class Tokenizers
{
    public static readonly IReadOnlyList<string> Kinds = ["char", "cl100k_base", "o200k_base", "bpe"];

    /// <summary>A BPE-family tokenizer by name; char vocabularies come from a corpus instead.</summary>
    public static ITokenizer CreateBpe(string kind, string? vocabFile = null, string? mergesFile = null, string? tiktokenFile = null)
    {
        switch (kind)
        {
            case "cl100k_base":
            case "o200k_base":
                return LibraryTokenizer.Tiktoken(kind);
            case "bpe":
                if (tiktokenFile is not null)
                    return LibraryTokenizer.TiktokenFile(ReadFile(tiktokenFile, "--tiktoken"), tiktokenFile);
                if (vocabFile is null || mergesFile is null)
                    throw new ArgumentException("tokenizer 'bpe' needs --vocab FILE and --merges FILE, or --tiktoken FILE");
                return LibraryTokenizer.Gpt2Bpe(ReadFile(vocabFile, "--vocab"), ReadFile(mergesFile, "--merges"), vocabFile, mergesFile);
            default:
                throw UnknownKind(kind);
        }
    }

    public static ArgumentException UnknownKind(string kind)
        => new($"unknown tokenizer '{kind}'; expected one of: {string.Join(", ", Kinds)}");

    public static ITokenizer FromDescription(TokenizerDescription d)
    {
        ITokenizer t = d.Kind switch
        {
            "char" => CharTokenizer.FromDescription(d.Chars ?? throw new InvalidDataException("char tokenizer description has no characters")),
            "cl100k_base" or "o200k_base" => LibraryTokenizer.Tiktoken(d.Kind),
            "bpe" when d.Tiktoken is not null => LibraryTokenizer.TiktokenFile(d.Tiktoken),
            "bpe" => LibraryTokenizer.Gpt2Bpe(d.VocabJson ?? throw new InvalidDataException("bpe description has no vocab"),
                                              d.Merges ?? throw new InvalidDataException("bpe description has no merges")),
            _ => throw new InvalidDataException($"unknown tokenizer '{d.Kind}' in description"),
        };
        return d.CompactIds is null ? t : new CompactTokenizer(t, d.CompactIds);
    }

    static string ReadFile(string path, string option)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{option} {path}: file not found", path);
        return File.ReadAllText(path);
    }
}
