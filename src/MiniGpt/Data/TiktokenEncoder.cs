using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace MiniGpt.Data;

/// <summary>
/// Each token's rank (its id) by its bytes, for a tiktoken-style BPE. Built once and never written after, so every
/// thread's encoder reads the same table.
/// </summary>
public sealed class RankTable
{
    /// <summary>Tokens of up to 7 bytes are keyed by their bytes and length in one number: most of a table, and of the lookups merging makes.</summary>
    const int ShortBytes = 7;

    // Open addressing rather than a Dictionary<ulong, int>: the table is built before a prepare's first batch, and
    // the generic dictionary's code ran unoptimised (tier 0) through its 100,000 inserts and the first lookups.
    // A slot's key 0 is empty: a key holds its length, at least 1, in its top byte.
    readonly (ulong Key, int Rank)[] shortRanks;
    readonly int shortShift;
    readonly Dictionary<byte[], int> longRanks;
    readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> longBySpan;
    readonly Lazy<Dictionary<int, byte[]>> byRank;

    /// <param name="ranks">Distinct tokens with distinct ranks (<see cref="TiktokenRanks"/> checks a file's).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public RankTable(IReadOnlyList<(byte[] Bytes, int Rank)> ranks)
    {
        int shortTokens = 0;
        for (int r = 0; r < ranks.Count; r++) shortTokens += ranks[r].Bytes.Length <= ShortBytes ? 1 : 0;
        // At most three quarters full, so a search ends within a few slots; no more, as filling a cold table costs a
        // cache miss per token.
        int slots = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, shortTokens * 4 / 3 + 1));
        (shortRanks, shortShift) = (new (ulong, int)[slots], 64 - BitOperations.Log2((uint)slots));
        longRanks = new Dictionary<byte[], int>(BytesComparer.Instance);
        for (int r = 0; r < ranks.Count; r++)
        {
            var (bytes, rank) = ranks[r];
            if (bytes.Length > ShortBytes) { longRanks[bytes] = rank; continue; }
            ulong key = Key(bytes);
            shortRanks[Slot(key)] = (key, rank);
        }
        longBySpan = longRanks.GetAlternateLookup<ReadOnlySpan<byte>>();
        // Only decoding needs ids to bytes; encoding a corpus never builds it.
        byRank = new(() => ranks.ToDictionary(r => r.Rank, r => r.Bytes), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Up to 7 bytes and their count as one key: byte i in bits 8i to 8i+7, the count in the top byte.</summary>
    static ulong Key(ReadOnlySpan<byte> token)
    {
        ulong key = (ulong)token.Length << 56;
        for (int i = 0; i < token.Length; i++) key |= (ulong)token[i] << (8 * i);
        return key;
    }

    public bool TryGetRank(ReadOnlySpan<byte> token, out int rank)
    {
        if (token.Length > ShortBytes) return longBySpan.TryGetValue(token, out rank);
        var entry = shortRanks[Slot(Key(token))];
        rank = entry.Rank;
        return entry.Key != 0;
    }

    /// <summary>The slot that holds <paramref name="key"/>, or the empty one where it would go: Fibonacci hashing, then the next slots in turn.</summary>
    int Slot(ulong key)
    {
        int mask = shortRanks.Length - 1;
        int i = (int)((key * 0x9E3779B97F4A7C15UL) >> shortShift);
        while (shortRanks[i].Key != key && shortRanks[i].Key != 0) i = (i + 1) & mask;
        return i;
    }

    /// <summary>The rank of a part that merging made, or of one byte: a token by construction.</summary>
    public int RankOf(ReadOnlySpan<byte> token)
        => TryGetRank(token, out int rank) ? rank : throw new InvalidOperationException($"bytes {Convert.ToHexString(token)} are no token");

    /// <summary>The token of <paramref name="rank"/>; null for a rank no token has.</summary>
    public byte[]? BytesOf(int rank) => byRank.Value.GetValueOrDefault(rank);

    sealed class BytesComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly BytesComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] bytes) => GetHashCode((ReadOnlySpan<byte>)bytes);
        public bool Equals(ReadOnlySpan<byte> span, byte[] bytes) => span.SequenceEqual(bytes);
        public int GetHashCode(ReadOnlySpan<byte> span)
        {
            var h = new HashCode();   // seeded per process: text cannot be made to collide on purpose
            h.AddBytes(span);
            return h.ToHashCode();
        }
        public byte[] Create(ReadOnlySpan<byte> span) => span.ToArray();
    }
}

/// <summary>
/// Encodes text as tiktoken does: special tokens (&lt;|endoftext|&gt;, …) are found first, the text between them is
/// split by the encoding's pattern, and each piece is its token if it is one whole, else its UTF-8 bytes merged
/// (<see cref="BytePairMerge"/>). An encoder keeps the pieces it has encoded and a Regex of its own, so one per
/// thread encodes without locks or shared writes; they share the rank table. The ids are Microsoft.ML.Tokenizers'
/// (tested equal), which checked a shared word cache under a lock and a vocabulary of 100,000 strings for each
/// piece: about twice the time per piece (docs/benchmarks.md). One thread at a time encodes with an encoder, as
/// with any <see cref="ITokenizer"/>; decoding only reads.
/// </summary>
public sealed class TiktokenEncoder
{
    /// <summary>Pieces kept at most by default; past it the cache starts again. Text's pieces repeat: a few thousand are most of any text.</summary>
    public const int DefaultMaxCachedPieces = 1 << 16;

    /// <summary>Longer pieces (a run of spaces, a base64 blob) are rarely seen twice.</summary>
    const int MaxCachedChars = 64;

    /// <summary>
    /// Characters kept at most, all pieces together: text made of long distinct pieces would otherwise hold about
    /// 60 MB in each thread's cache (65,536 CJK pieces of 64 characters), and a thread runs on each core.
    /// </summary>
    public const int MaxCachedCharsInAll = 1 << 19;

    readonly RankTable ranks;
    readonly string pattern;
    readonly Regex regex;
    readonly PieceCache pieces;

    readonly int maxCachedPieces;
    readonly long maxPieceBytes;

    /// <param name="pattern">The pre-tokenizer's regex: each match is a piece.</param>
    /// <param name="specialTokens">Tokens found whole in text before it is split, each beginning "&lt;|" and ending "|&gt;".</param>
    /// <param name="maxPieceBytes">The longest piece, in UTF-8, that is merged; a longer one is refused (<see cref="PieceTooLongException"/>).</param>
    public TiktokenEncoder(RankTable ranks, string pattern, IReadOnlyDictionary<string, int> specialTokens,
                           int maxCachedPieces = DefaultMaxCachedPieces, long maxPieceBytes = MaxPieceBytes)
    {
        if (specialTokens.Keys.FirstOrDefault(k => !k.StartsWith("<|", StringComparison.Ordinal)) is { } other)
            throw new ArgumentException($"special token '{other}' does not begin with \"<|\"", nameof(specialTokens));
        (this.ranks, this.pattern, SpecialTokens, this.maxCachedPieces, this.maxPieceBytes) = (ranks, pattern, specialTokens, maxCachedPieces, maxPieceBytes);
        // What an encoding thread writes for every piece (the Regex's runner and match, rented and returned each
        // time) is made here, with the Regex. Made at the first match instead, while the other thread made its own,
        // each thread's runner could land on the other's cache line: on two workers about half of all runs of a
        // prepare took 2.0–2.8 s rather than 1.6 (docs/benchmarks.md).
        regex = LibraryTokenizer.OwnRegex(pattern);
        regex.IsMatch("a");
        pieces = new PieceCache(maxCachedPieces, MaxCachedCharsInAll);
    }

    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>An encoder for another thread: the same table, its own Regex and cache.</summary>
    public TiktokenEncoder ForAnotherThread() => new(ranks, pattern, SpecialTokens, maxCachedPieces, maxPieceBytes);

    /// <summary>Pieces in the cache now.</summary>
    public int CachedPieces => pieces.Count;

    /// <summary>Their characters.</summary>
    public int CachedChars => pieces.CharCount;

    /// <summary>The longest piece merged by default: its bytes must fit one array.</summary>
    public const long MaxPieceBytes = 0x7FFFFFC7;   // Array.MaxLength

    public List<int> Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids);
        return ids;
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>.</summary>
    // The per-piece path is compiled optimised at its first call (AggressiveOptimization) rather than run as
    // precompiled code until the JIT's tier-up reaches it: about the first 300 batches of a prepare, longer on two
    // workers, whose JIT shares their two cores (docs/benchmarks.md).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Encode(ReadOnlySpan<char> text, List<int> ids)
    {
        for (int from = 0; from <= text.Length;)
        {
            var (at, special) = NextSpecial(text, from);
            var between = text[from..at];
            foreach (var m in regex.EnumerateMatches(between)) AddPiece(between.Slice(m.Index, m.Length), ids);
            if (special is not { } s) break;
            ids.Add(s.Value);
            from = at + s.Key.Length;
        }
    }

    /// <summary>The first special token at or after <paramref name="from"/>, and where; the text's end and null when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    (int At, KeyValuePair<string, int>? Special) NextSpecial(ReadOnlySpan<char> text, int from)
    {
        if (SpecialTokens.Count == 0) return (text.Length, null);
        // Each begins "<|" (the constructor checks). Where two would match, the first in the dictionary wins, as in
        // the library's alternation of them; of the bundled encodings' none is a prefix of another.
        for (int at = from, i; (i = text[at..].IndexOf("<|", StringComparison.Ordinal)) >= 0; at++)
        {
            at += i;
            foreach (var special in SpecialTokens)
                if (text[at..].StartsWith(special.Key, StringComparison.Ordinal)) return (at, special);
        }
        return (text.Length, null);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void AddPiece(ReadOnlySpan<char> piece, List<int> ids)
    {
        if (pieces.TryGet(piece, out var cached))
        {
            Append(ids, cached);
            return;
        }
        var encoded = EncodePiece(piece);
        if (piece.Length is > 0 and <= MaxCachedChars) pieces.Add(piece, encoded);
        Append(ids, encoded);
    }

    /// <summary>
    /// Adds a piece's ids without List's AddRange, whose generic form for a span ran unoptimised, through a stub, until
    /// the JIT's tier-up replaced it, longer on two workers (docs/benchmarks.md). Most pieces have one id: List's Add,
    /// inlined here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Append(List<int> ids, ReadOnlySpan<int> more)
    {
        if (more.Length == 1) { ids.Add(more[0]); return; }
        int n = ids.Count;
        CollectionsMarshal.SetCount(ids, n + more.Length);
        more.CopyTo(CollectionsMarshal.AsSpan(ids)[n..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    int[] EncodePiece(ReadOnlySpan<char> piece)
    {
        long most = 3L * piece.Length;   // a UTF-16 unit is at most 3 bytes; a pair, 4 for 2
        if (most > maxPieceBytes) most = Utf8Length(piece);
        if (most > maxPieceBytes) throw new PieceTooLongException(piece.Length, most, maxPieceBytes);
        Span<byte> bytes = most <= 512 ? stackalloc byte[(int)most] : new byte[most];
        int n = Utf8(piece, bytes, out bool canBeWhole);
        bytes = bytes[..n];
        if (canBeWhole && ranks.TryGetRank(bytes, out int whole)) return [whole];
        return n <= BytePairMerge.ScanLimit ? BytePairMerge.Merge(bytes, ranks) : BytePairMerge.MergeLong(bytes, ranks);
    }

    /// <summary>
    /// UTF-8 as Microsoft.ML.Tokenizers encodes a piece, a lone surrogate as its own three bytes rather than U+FFFD's,
    /// so that the ids stay the library's. <paramref name="canBeWhole"/>: whether the library would look the piece up
    /// whole, which it does by the token's text, and never for a token whose text holds U+FFFD (as one whose bytes are
    /// not UTF-8 decodes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int Utf8(ReadOnlySpan<char> text, Span<byte> to, out bool canBeWhole)
    {
        canBeWhole = true;
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            uint c = text[i];
            if (c < 0x80) to[n++] = (byte)c;
            else if (c < 0x800)
            {
                to[n++] = (byte)(0xC0 | c >> 6);
                to[n++] = (byte)(0x80 | c & 0x3F);
            }
            else if (char.IsHighSurrogate((char)c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                uint v = (uint)char.ConvertToUtf32((char)c, text[++i]);
                to[n++] = (byte)(0xF0 | v >> 18);
                to[n++] = (byte)(0x80 | v >> 12 & 0x3F);
                to[n++] = (byte)(0x80 | v >> 6 & 0x3F);
                to[n++] = (byte)(0x80 | v & 0x3F);
            }
            else
            {
                if (char.IsSurrogate((char)c) || c == 0xFFFD) canBeWhole = false;
                to[n++] = (byte)(0xE0 | c >> 12);
                to[n++] = (byte)(0x80 | c >> 6 & 0x3F);
                to[n++] = (byte)(0x80 | c & 0x3F);
            }
        }
        return n;
    }

    /// <summary>What <see cref="Utf8"/> writes for <paramref name="text"/>, in bytes.</summary>
    static long Utf8Length(ReadOnlySpan<char> text)
    {
        long n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { n += 4; i++; }
            else n += 3;
        }
        return n;
    }

    /// <summary>The text of <paramref name="ids"/>' bytes together, as the library decodes: ids of no token add nothing, and bytes that are not UTF-8 become U+FFFD.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (ranks.BytesOf(id) is { } token) bytes.AddRange(token);
            else if (SpecialText(id) is { } special) bytes.AddRange(Encoding.UTF8.GetBytes(special));
        }
        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes));
    }

    string? SpecialText(int id)
    {
        foreach (var s in SpecialTokens) if (s.Value == id) return s.Key;
        return null;
    }
}

/// <summary>A piece the pattern does not split, too long to merge: its UTF-8 would not fit one array.</summary>
public sealed class PieceTooLongException(long chars, long bytes, long limit) : MiniGptException(FormattableString.Invariant(
    $"{chars:N0} characters in a row that the tokenizer's pattern does not split are {bytes:N0} bytes of UTF-8; at most {limit:N0} can be merged as one piece"));
