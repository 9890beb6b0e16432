using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MiniGpt.Data;

/// <summary>
/// The BPE tokenizers, from Microsoft.ML.Tokenizers: tiktoken's cl100k_base and o200k_base, a GPT-2 style
/// byte-level BPE from vocab.json + merges.txt, or any .tiktoken rank file.
/// </summary>
public sealed class LibraryTokenizer : ITokenizer
{
    readonly Tokenizer inner;
    readonly TokenizerDescription description;

    LibraryTokenizer(Tokenizer inner, TokenizerDescription description, int vocabSize, string pattern)
    {
        this.inner = inner;
        this.description = description;
        VocabSize = vocabSize;
        Pattern = pattern;
    }

    public TokenizerKind Kind => description.Kind;
    public int VocabSize { get; }

    /// <summary>The regex that splits text into pieces before BPE runs on each piece's UTF-8 bytes.</summary>
    public string Pattern { get; }

    /// <summary>Tokens matched whole in text before splitting, with their ids (cl100k_base's &lt;|endoftext|&gt;, …).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => inner switch
    {
        TiktokenTokenizer t => t.SpecialTokens ?? new Dictionary<string, int>(),
        BpeTokenizer b => b.SpecialTokens ?? new Dictionary<string, int>(),
        _ => new Dictionary<string, int>(),
    };

    /// <summary>cl100k_base or o200k_base, from the data packages.</summary>
    public static LibraryTokenizer Tiktoken(TokenizerKind encoding)
    {
        var t = TiktokenTokenizer.CreateForEncoding(Choices.Name(encoding));
        // The special tokens follow every rank (cl100k: 100277 ids, o200k: 200019).
        return new LibraryTokenizer(t, new TokenizerDescription(encoding), t.SpecialTokens!.Values.Max() + 1, LibraryPattern(encoding));
    }

    static string LibraryPattern(TokenizerKind encoding) => encoding == TokenizerKind.Cl100kBase ? Cl100kLibraryPattern : O200kLibraryPattern;

    /// <summary>
    /// Every tokenizer that <see cref="TiktokenTokenizer.CreateForEncoding"/> makes splits text with one shared
    /// Regex, and a Regex busy on one thread builds a fresh matcher for each call from another: two threads encoding
    /// allocate about 16 times as much and run no faster than one (docs/benchmarks.md). A tokenizer for another
    /// thread is therefore one with a Regex of its own: for tiktoken, one that reads this one's rank tables (see
    /// <see cref="SharingTables"/>), else one built again from the same rank data.
    /// </summary>
    public ITokenizer ForAnotherThread() => description switch
    {
        { Kind: TokenizerKind.Cl100kBase or TokenizerKind.O200kBase } =>
            SharingTables(LibraryPattern(description.Kind)) ?? OwnTiktoken(description.Kind, SpecialTokens) ?? this,
        { Tiktoken: { } ranks } => SharingTables(Cl100kPattern) ?? TiktokenFile(ranks),
        { VocabJson: { } vocab, Merges: { } merges } => Gpt2Bpe(vocab, merges),
        _ => this,
    };

    /// <summary>
    /// A tiktoken tokenizer that reads this one's rank tables, with its own Regex on <paramref name="pattern"/>;
    /// null when this one is not tiktoken, or when the library no longer has the constructor used. The tables are
    /// never written once built (the library itself shares them between every tokenizer of an encoding), but
    /// Microsoft.ML.Tokenizers 3.0.0 offers no public way to pair them with another Regex: its constructor from
    /// tables is private, so it is looked up here by its parameters. Building the tables again instead costs each
    /// thread 0.1–0.25 s and about 20 MB (cl100k), 1.3 GB on 64 cores, and the copies crowd each other out of the cache.
    /// </summary>
    LibraryTokenizer? SharingTables(string pattern)
    {
        if (inner is not TiktokenTokenizer source) return null;
        const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        var tables = new[] { "_encoder", "_decoder", "_vocab" }.Select(n => typeof(TiktokenTokenizer).GetField(n, Private)).ToArray();
        if (tables.Any(f => f is null)) return null;
        Type[] parameters = [.. tables.Select(f => f!.FieldType), typeof(PreTokenizer), typeof(IReadOnlyDictionary<string, int>), typeof(Normalizer), typeof(int)];
        var fromTables = typeof(TiktokenTokenizer).GetConstructor(Private, parameters);
        // The word cache's size that the public factories give by default.
        var cacheSize = typeof(TiktokenTokenizer).GetMethod(nameof(TiktokenTokenizer.Create),
            [typeof(Stream), typeof(PreTokenizer), typeof(Normalizer), typeof(IReadOnlyDictionary<string, int>), typeof(int)])?.GetParameters()[^1].DefaultValue;
        if (fromTables is null || cacheSize is not int size) return null;
        var special = source.SpecialTokens?.ToDictionary(t => t.Key, t => t.Value);
        var preTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), special);
        try
        {
            var t = (TiktokenTokenizer)fromTables.Invoke([.. tables.Select(f => f!.GetValue(source)), preTokenizer, special, null, size]);
            return new LibraryTokenizer(t, description, VocabSize, Pattern);
        }
        catch (Exception e) when (e is TargetInvocationException or ArgumentException or InvalidCastException) { return null; }   // a library that changed underneath
    }

    /// <summary>cl100k_base or o200k_base with its own Regex, from the rank file inside the data package; null if that file is not found.</summary>
    static LibraryTokenizer? OwnTiktoken(TokenizerKind encoding, IReadOnlyDictionary<string, int> specialTokens)
    {
        var name = Choices.Name(encoding);
        var package = System.Reflection.Assembly.Load(encoding == TokenizerKind.Cl100kBase
            ? "Microsoft.ML.Tokenizers.Data.Cl100kBase" : "Microsoft.ML.Tokenizers.Data.O200kBase");
        using var stored = package.GetManifestResourceStream($"{name}.tiktoken.deflate");
        if (stored is null) return null;
        using var ranks = new System.IO.Compression.DeflateStream(stored, System.IO.Compression.CompressionMode.Decompress);
        var special = specialTokens.ToDictionary(t => t.Key, t => t.Value);
        var pattern = LibraryPattern(encoding);
        var t = TiktokenTokenizer.Create(ranks, new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), special), normalizer: null, special);
        return new LibraryTokenizer(t, new TokenizerDescription(encoding), special.Values.Max() + 1, pattern);
    }

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
                PreTokenizer = new RegexPreTokenizer(new Regex(Gpt2Pattern, RegexOptions.Compiled), special),
                SpecialTokens = special,
            });
            size = vocab.Values.Max() + 1;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw new DataException(vocabName, $"cannot read the BPE files {vocabName} and {mergesName}: {e.Message}", e);
        }
        return new LibraryTokenizer(t, new TokenizerDescription(TokenizerKind.Bpe, VocabJson: vocabJson, Merges: merges), size, Gpt2Pattern);
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
        TiktokenTokenizer t;
        int maxRank;
        try
        {
            var ranks = TiktokenRanks.Parse(contents);
            maxRank = ranks.Count > 0 ? ranks[^1].Rank : -1;
            using var s = new MemoryStream(Encoding.UTF8.GetBytes(contents));
            t = TiktokenTokenizer.Create(s, new RegexPreTokenizer(new Regex(Cl100kPattern, RegexOptions.Compiled), null), normalizer: null);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new DataException(name, $"cannot read the BPE file {name}: {e.Message}", e);
        }
        if (maxRank < 0) throw new DataException(name, $"the BPE file {name} holds no tokens");
        return new LibraryTokenizer(t, new TokenizerDescription(TokenizerKind.Bpe, Tiktoken: contents), maxRank + 1, Cl100kPattern);
    }

    static string Truncate(string s) => s.Length > 40 ? s[..40] + "…" : s;

    // cl100k_base's pre-tokenisation pattern (tiktoken's openai_public.py), for .tiktoken files.
    const string Cl100kPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    // The patterns Microsoft.ML.Tokenizers splits cl100k_base and o200k_base with (its own copies are internal).
    // Its cl100k_base one is tiktoken's later, atomic form, which differs from the one above at trailing whitespace.
    const string Cl100kLibraryPattern = @"'(?i:[sdmt]|ll|ve|re)|(?>[^\r\n\p{L}\p{N}]?)(?>\p{L}+)|(?>\p{N}{1,3})| ?(?>[^\s\p{L}\p{N}]+)(?>[\r\n]*)|(?>\s+)$|\s*[\r\n]|\s+(?!\S)|\s";
    const string O200kLibraryPattern = @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public IReadOnlyList<int> Encode(string text) => inner.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids) => inner.Decode(ids);

    public TokenizerDescription Describe() => description;
}
