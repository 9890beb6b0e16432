using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MiniGpt.Data;

/// <summary>
/// One encoder's pieces and their ids: open addressing over flat arrays, no object per piece. Its code is compiled
/// optimised at first use, where a Dictionary&lt;string, int[]&gt;'s ran unoptimised through a prepare's first batches,
/// longer on two workers, whose JIT shares their cores (docs/benchmarks.md). Past a limit it starts again, empty.
/// </summary>
/// <remarks>
/// The hash is no keyed hash: its seed varies where ordinary text lands, but pieces can be made to collide whatever the
/// seed. What bounds them is the search: at most <see cref="MaxProbe"/> slots, and a piece that would be placed further
/// from its hash's slot empties the cache instead, so colliding text only loses what the cache saved (30,000 such
/// pieces took as long to encode as 30,000 others).
/// </remarks>
public sealed class PieceCache
{
    /// <summary>Where a piece's characters and ids are in the pools, and its hash. No characters: the slot is empty.</summary>
    struct Slot
    {
        public int Hash, Chars, Ids;
        public ushort CharCount, IdCount;
    }

    readonly int maxPieces, maxChars;
    readonly ulong seed;
    Slot[] slots = new Slot[FirstSlots];
    char[] chars = new char[1 << 12];
    int[] ids = new int[1 << 12];
    int charsUsed, idsUsed;

    /// <param name="maxPieces">Pieces kept at most.</param>
    /// <param name="maxChars">Their characters at most, all together.</param>
    /// <param name="seed">The hash's seed; by default a random one.</param>
    public PieceCache(int maxPieces, int maxChars, ulong? seed = null)
        => (this.maxPieces, this.maxChars, this.seed) = (maxPieces, maxChars, seed ?? (ulong)Random.Shared.NextInt64());

    /// <summary>
    /// Slots a search looks at, at most, from the one the piece's <see cref="Hash(ReadOnlySpan{char}, ulong)"/> names
    /// (its low bits). With 32, one in four caches filled with 60,000 random pieces emptied itself on the way.
    /// </summary>
    public const int MaxProbe = 64;

    /// <summary>Slots the cache starts with; it doubles them while it holds more than half as many pieces.</summary>
    public const int FirstSlots = 1 << 10;

    /// <summary>Pieces kept now.</summary>
    public int Count { get; private set; }

    /// <summary>Their characters.</summary>
    public int CharCount => charsUsed;

    /// <summary>Pieces this long at most are kept: a slot counts characters and ids (at most 3 per character) in 16 bits.</summary>
    public const int MaxPieceChars = ushort.MaxValue / 3;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGet(ReadOnlySpan<char> piece, out ReadOnlySpan<int> found)
    {
        int hash = Hash(piece), mask = slots.Length - 1;
        for (int probe = 0, i = hash & mask; probe < MaxProbe; probe++, i = (i + 1) & mask)
        {
            ref var s = ref slots[i];
            if (s.CharCount == 0) break;
            if (s.Hash == hash && piece.SequenceEqual(chars.AsSpan(s.Chars, s.CharCount)))
            {
                found = ids.AsSpan(s.Ids, s.IdCount);
                return true;
            }
        }
        found = default;
        return false;
    }

    /// <summary>Keeps a piece <see cref="TryGet"/> did not find, of 1 to <see cref="MaxPieceChars"/> characters, with its ids (at most 3 a character).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<char> piece, ReadOnlySpan<int> pieceIds)
    {
        if (piece.IsEmpty || piece.Length > MaxPieceChars || pieceIds.Length > 3 * piece.Length)
            throw new ArgumentOutOfRangeException(nameof(piece), $"a piece of {piece.Length} characters and {pieceIds.Length} ids");
        if (Count >= maxPieces || charsUsed + piece.Length > maxChars) Clear();
        if (2 * (Count + 1) > slots.Length) Grow();
        int hash = Hash(piece), at = Free(hash);
        if (at < 0)
        {
            Clear();
            at = Free(hash);
        }
        chars = Fit(chars, charsUsed + piece.Length);
        ids = Fit(ids, idsUsed + pieceIds.Length);
        piece.CopyTo(chars.AsSpan(charsUsed));
        pieceIds.CopyTo(ids.AsSpan(idsUsed));
        slots[at] = new Slot { Hash = hash, Chars = charsUsed, Ids = idsUsed, CharCount = (ushort)piece.Length, IdCount = (ushort)pieceIds.Length };
        (charsUsed, idsUsed) = (charsUsed + piece.Length, idsUsed + pieceIds.Length);
        Count++;
    }

    public void Clear()
    {
        Array.Clear(slots);
        (charsUsed, idsUsed, Count) = (0, 0, 0);
    }

    /// <summary>The first empty slot within <see cref="MaxProbe"/> of the hash's, or −1.</summary>
    int Free(int hash)
    {
        int mask = slots.Length - 1;
        for (int probe = 0, i = hash & mask; probe < MaxProbe; probe++, i = (i + 1) & mask)
            if (slots[i].CharCount == 0) return i;
        return -1;
    }

    /// <summary>Twice the slots, at most half of them used; a piece that lands too far from its slot empties the cache.</summary>
    void Grow()
    {
        var old = slots;
        slots = new Slot[old.Length * 2];
        foreach (var s in old)
            if (s.CharCount != 0 && Free(s.Hash) is >= 0 and var at) slots[at] = s;
            else if (s.CharCount != 0) { Clear(); return; }
    }

    static T[] Fit<T>(T[] pool, int needed)
    {
        if (needed > pool.Length) Array.Resize(ref pool, (int)Math.Min(Array.MaxLength, Math.Max(needed, 2L * pool.Length)));
        return pool;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int Hash(ReadOnlySpan<char> piece) => Hash(piece, seed);

    /// <summary>A multiply-rotate hash of the characters, 4 at a time, seeded, then mixed as MurmurHash3 finishes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hash(ReadOnlySpan<char> piece, ulong seed)
    {
        var bytes = MemoryMarshal.AsBytes(piece);
        ulong h = seed ^ (ulong)bytes.Length;
        int i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
            h = BitOperations.RotateLeft((h ^ MemoryMarshal.Read<ulong>(bytes[i..])) * 0x9E3779B97F4A7C15UL, 31);
        if (i < bytes.Length)
        {
            ulong tail = 0;
            for (int k = bytes.Length - 1; k >= i; k--) tail = tail << 8 | bytes[k];
            h = BitOperations.RotateLeft((h ^ tail) * 0x9E3779B97F4A7C15UL, 31);
        }
        h = (h ^ h >> 33) * 0xFF51AFD7ED558CCDUL;
        h = (h ^ h >> 33) * 0xC4CEB9FE1A85EC53UL;
        return (int)(h ^ h >> 33);
    }
}
