using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MiniGpt.Data;

/// <summary>
/// The BPE tokenizers: tiktoken's cl100k_base and o200k_base (their ranks from Microsoft.ML.Tokenizers' data
/// packages) and any .tiktoken rank file, encoded by <see cref="TiktokenEncoder"/>; a GPT-2 style byte-level BPE
/// from vocab.json + merges.txt, by Microsoft.ML.Tokenizers.
/// </summary>
public sealed partial class LibraryTokenizer : ITokenizer
{
    readonly TiktokenEncoder? tiktoken;
    readonly BpeTokenizer? gpt2;
    readonly TokenizerDescription description;

    LibraryTokenizer(TiktokenEncoder? tiktoken, BpeTokenizer? gpt2, TokenizerDescription description, int vocabSize, string pattern)
    {
        (this.tiktoken, this.gpt2, this.description) = (tiktoken, gpt2, description);
        VocabSize = vocabSize;
        Pattern = pattern;
    }

    public TokenizerKind Kind => description.Kind;
    public int VocabSize { get; }

    /// <summary>The regex that splits text into pieces before BPE runs on each piece's UTF-8 bytes.</summary>
    public string Pattern { get; }

    /// <summary>Tokens matched whole in text before splitting, with their ids (cl100k_base's &lt;|endoftext|&gt;, …).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => tiktoken?.SpecialTokens ?? gpt2?.SpecialTokens ?? new Dictionary<string, int>();

    /// <summary>cl100k_base or o200k_base, from the data packages.</summary>
    public static LibraryTokenizer Tiktoken(TokenizerKind encoding)
    {
        var specials = BundledSpecialTokens(encoding);
        var ranks = new RankTable(TiktokenRanks.Of(new TokenizerDescription(encoding))!);
        // The special tokens follow every rank (cl100k: 100277 ids, o200k: 200019).
        return new LibraryTokenizer(new TiktokenEncoder(ranks, LibraryPattern(encoding), specials), null,
            new TokenizerDescription(encoding), specials.Values.Max() + 1, LibraryPattern(encoding));
    }

    /// <summary>
    /// The special tokens of the bundled encodings, as tiktoken and Microsoft.ML.Tokenizers define them (a test holds
    /// them to the library's): the library builds them only with its own tables, which take three times as long to build.
    /// </summary>
    static Dictionary<string, int> BundledSpecialTokens(TokenizerKind encoding) => encoding == TokenizerKind.Cl100kBase
        ? new() { [EndOfText] = 100257, ["<|fim_prefix|>"] = 100258, ["<|fim_middle|>"] = 100259, ["<|fim_suffix|>"] = 100260, ["<|endofprompt|>"] = 100276 }
        : new() { [EndOfText] = 199999, ["<|endofprompt|>"] = 200018 };

    static string LibraryPattern(TokenizerKind encoding) => encoding == TokenizerKind.Cl100kBase ? Cl100kLibraryPattern : O200kLibraryPattern;

    /// <summary>
    /// A Regex busy on one thread builds a fresh matcher for each call from another: two threads sharing one
    /// allocated about 16 times as much and ran no faster than one (docs/benchmarks.md). A tokenizer for another
    /// thread therefore splits with a Regex of its own: for tiktoken, with an encoder that reads this one's rank
    /// table; for GPT-2, one built again from the same files.
    /// </summary>
    public ITokenizer ForAnotherThread() => tiktoken is not null
        ? new LibraryTokenizer(tiktoken.ForAnotherThread(), null, description, VocabSize, Pattern)
        : description is { VocabJson: { } vocab, Merges: { } merges } ? Gpt2Bpe(vocab, merges) : this;

    /// <summary>
    /// A Regex on <paramref name="pattern"/> for one tokenizer alone, so that no two threads share its matcher: a new
    /// instance of the source-generated class for that pattern, whose code the JIT tiers and profiles as it does any
    /// other (a worker splitting with <see cref="RegexOptions.Compiled"/>'s dynamic methods was about 5 % slower per
    /// piece, docs/benchmarks.md); a compiled one for a pattern without such a class, or if the class cannot be made.
    /// </summary>
    internal static Regex OwnRegex(string pattern)
    {
        Regex? generated = pattern switch
        {
            Cl100kLibraryPattern => Cl100kLibraryRegex(),
            O200kLibraryPattern => O200kLibraryRegex(),
            Cl100kPattern => Cl100kRegex(),
            Gpt2Pattern => Gpt2Regex(),
            _ => null,
        };
        // The generator's class has only a private constructor, and hands out one shared instance.
        try { if (generated is not null && Activator.CreateInstance(generated.GetType(), nonPublic: true) is Regex own) return own; }
        catch (Exception e) when (e is MissingMethodException or MemberAccessException or TargetInvocationException) { }
        return new Regex(pattern, RegexOptions.Compiled);
    }

    [GeneratedRegex(Cl100kLibraryPattern)] private static partial Regex Cl100kLibraryRegex();
    [GeneratedRegex(O200kLibraryPattern)] private static partial Regex O200kLibraryRegex();
    [GeneratedRegex(Cl100kPattern)] private static partial Regex Cl100kRegex();
    [GeneratedRegex(Gpt2Pattern)] private static partial Regex Gpt2Regex();

    /// <summary>GPT-2 style byte-level BPE from the text of vocab.json and merges.txt.</summary>
    public static LibraryTokenizer Gpt2Bpe(string vocabJson, string merges, string vocabName = "vocab.json", string mergesName = "merges.txt")
    {
        BpeTokenizer t;
        int size;
        try
        {
            var vocab = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(vocabJson)
                        ?? throw new FormatException("vocab.json is null");
            if (vocab.Count == 0) throw new FormatException("vocab.json holds no tokens");
            // Ids index the embedding: each must be a distinct id in [0, tokens) or the model would read outside it.
            if (vocab.FirstOrDefault(t => t.Value < 0 || t.Value >= vocab.Count) is { Key: not null } outside)
                throw new FormatException($"token '{Truncate(outside.Key)}' has id {outside.Value}, outside [0, {vocab.Count})");
            if (vocab.GroupBy(t => t.Value).FirstOrDefault(g => g.Count() > 1) is { } shared)
                throw new FormatException($"tokens '{Truncate(shared.First().Key)}' and '{Truncate(shared.Skip(1).First().Key)}' share id {shared.Key}");
            // Byte-level BPE starts from one token per byte: without one, text holding that byte lost it silently.
            for (int b = 0; b < 256; b++)
                if (!vocab.ContainsKey(ByteAlphabet.Of((byte)b).ToString()))
                    throw new FormatException($"no token for byte {ByteAlphabet.Name((byte)b)} (spelled '{ByteAlphabet.Of((byte)b)}'), so text holding it could not be encoded");
            var mergeLines = MergeLines(merges);
            foreach (var line in mergeLines)
                if (line.Split(' ').Length != 2) throw new FormatException($"merges line '{Truncate(line)}' is not two symbols");
            var special = vocab.ContainsKey(EndOfText) ? new Dictionary<string, int> { [EndOfText] = vocab[EndOfText] } : null;
            t = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = mergeLines,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(OwnRegex(Gpt2Pattern), special),
                SpecialTokens = special,
            });
            size = vocab.Values.Max() + 1;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw new DataException(vocabName, $"cannot read the BPE files {vocabName} and {mergesName}: {e.Message}", e);
        }
        return new LibraryTokenizer(null, t, new TokenizerDescription(TokenizerKind.Bpe, VocabJson: vocabJson, Merges: merges), size, Gpt2Pattern);
    }

    /// <summary>The merges of a merges.txt, one "left right" a line, without its "#version" line and blank lines.</summary>
    public static IReadOnlyList<string> MergeLines(string merges)
        => merges.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith("#version")).ToList();

    /// <summary>GPT-2's end of text, a special token wherever a vocabulary has it.</summary>
    public const string EndOfText = "<|endoftext|>";

    // GPT-2's pre-tokenisation pattern (openai/gpt-2 encoder.py).
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>A .tiktoken rank file ("base64-token rank" per line), pre-tokenised with cl100k's pattern.</summary>
    public static LibraryTokenizer TiktokenFile(string contents, string name = ".tiktoken file")
    {
        IReadOnlyList<(byte[] Bytes, int Rank)> ranks;
        try { ranks = TiktokenRanks.Parse(contents); }
        catch (FormatException e) { throw new DataException(name, $"cannot read the BPE file {name}: {e.Message}", e); }
        if (ranks.Count == 0) throw new DataException(name, $"the BPE file {name} holds no tokens");
        return new LibraryTokenizer(new TiktokenEncoder(new RankTable(ranks), Cl100kPattern, new Dictionary<string, int>()), null,
            new TokenizerDescription(TokenizerKind.Bpe, Tiktoken: contents), ranks[^1].Rank + 1, Cl100kPattern);
    }

    static string Truncate(string s) => s.Length > 40 ? s[..40] + "…" : s;

    // cl100k_base's pre-tokenisation pattern (tiktoken's openai_public.py), for .tiktoken files.
    const string Cl100kPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    // The patterns Microsoft.ML.Tokenizers splits cl100k_base and o200k_base with (its own copies are internal).
    // Its cl100k_base one is tiktoken's later, atomic form, which differs from the one above at trailing whitespace.
    const string Cl100kLibraryPattern = @"'(?i:[sdmt]|ll|ve|re)|(?>[^\r\n\p{L}\p{N}]?)(?>\p{L}+)|(?>\p{N}{1,3})| ?(?>[^\s\p{L}\p{N}]+)(?>[\r\n]*)|(?>\s+)$|\s*[\r\n]|\s+(?!\S)|\s";
    const string O200kLibraryPattern = @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public IReadOnlyList<int> Encode(string text) => tiktoken?.Encode(text) ?? gpt2!.EncodeToIds(text);

    public void Encode(ReadOnlySpan<char> text, List<int> ids)
    {
        if (tiktoken is not null) tiktoken.Encode(text, ids);
        else ids.AddRange(gpt2!.EncodeToIds(text));
    }

    public string Decode(IEnumerable<int> ids) => tiktoken?.Decode(ids) ?? gpt2!.Decode(ids);

    public TokenizerDescription Describe() => description;
}
