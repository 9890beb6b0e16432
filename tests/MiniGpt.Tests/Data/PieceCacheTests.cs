using MiniGpt.Data;

namespace MiniGpt.Tests.Data;

public class PieceCacheTests
{
    static string RandomPiece(Random random, int length)
        => new([.. Enumerable.Range(0, length).Select(_ => random.Next(4) switch
        {
            0 => (char)random.Next('a', 'z' + 1),
            1 => (char)random.Next(0x80, 0x800),
            2 => (char)random.Next(0xD800, 0xE000),   // surrogates, paired or not: a piece is UTF-16 as it comes
            _ => (char)random.Next(0x3000, 0xA000),
        })]);

    [Fact]
    public void FindsEveryPieceWithItsIds_AndNothingElse_AsItGrows()
    {
        var random = new Random(1);
        var cache = new PieceCache(maxPieces: 1 << 16, maxChars: 1 << 22, seed: 1);
        var kept = new Dictionary<string, int[]>();
        while (kept.Count < 20_000)
        {
            var piece = RandomPiece(random, 1 + random.Next(64));
            if (kept.ContainsKey(piece)) continue;
            int[] ids = [.. Enumerable.Range(0, 1 + random.Next(3 * piece.Length)).Select(_ => random.Next(200_000))];
            Assert.False(cache.TryGet(piece, out _));
            cache.Add(piece, ids);
            kept[piece] = ids;
        }
        Assert.Equal((20_000, kept.Keys.Sum(k => k.Length)), (cache.Count, cache.CharCount));
        foreach (var (piece, ids) in kept)
        {
            Assert.True(cache.TryGet(piece, out var found), piece);
            Assert.Equal(ids, found.ToArray());
            // One character more, fewer or changed: no piece of the cache's.
            foreach (var near in new[] { piece + "a", piece[..^1], piece[1..] + piece[0], (char)(piece[0] ^ 1) + piece[1..] })
                if (!kept.ContainsKey(near)) Assert.False(cache.TryGet(near, out _), near);
        }
    }

    [Theory]
    [InlineData(10, 1000, 5, 11)]    // the 11th piece passes the count
    [InlineData(100, 100, 30, 4)]    // the 4th piece of 30 passes 100 characters
    public void StartsAgainEmpty_WhenAPieceWouldPassALimit(int maxPieces, int maxChars, int length, int breaking)
    {
        var random = new Random(2);
        var cache = new PieceCache(maxPieces, maxChars);
        var pieces = Enumerable.Range(0, breaking).Select(_ => RandomPiece(random, length)).ToList();
        for (int i = 0; i < breaking - 1; i++) cache.Add(pieces[i], [i]);
        Assert.Equal(breaking - 1, cache.Count);
        cache.Add(pieces[^1], [7, 8]);
        Assert.Equal((1, length), (cache.Count, cache.CharCount));
        Assert.False(cache.TryGet(pieces[0], out _));
        Assert.True(cache.TryGet(pieces[^1], out var found));
        Assert.Equal([7, 8], found.ToArray());
    }

    [Fact]
    public void PiecesMadeToCollide_EmptyTheCache_RatherThanLengthenASearch()
    {
        // With its seed known, pieces that all start their search at one slot: the first MaxProbe fill the slots a
        // search looks at; the next would go further, and empties the cache instead.
        const ulong seed = 7;
        var colliding = Enumerable.Range(0, int.MaxValue).Select(i => $"p{i}")
            .Where(p => (PieceCache.Hash(p, seed) & (PieceCache.FirstSlots - 1)) == 5).Take(PieceCache.MaxProbe + 8).ToList();
        var cache = new PieceCache(1 << 16, 1 << 20, seed);
        for (int i = 0; i < PieceCache.MaxProbe; i++) cache.Add(colliding[i], [i]);
        Assert.All(colliding.Take(PieceCache.MaxProbe), p => Assert.True(cache.TryGet(p, out _)));
        Assert.False(cache.TryGet(colliding[^1], out _));   // every slot it may be in is taken, by others
        cache.Add(colliding[PieceCache.MaxProbe], [99]);
        Assert.Equal(1, cache.Count);
        Assert.False(cache.TryGet(colliding[0], out _));
        Assert.True(cache.TryGet(colliding[PieceCache.MaxProbe], out var found) && found.SequenceEqual([99]));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(PieceCache.MaxPieceChars + 1, 1)]
    [InlineData(2, 7)]   // more ids than 3 a character
    public void APieceItCannotHold_IsRefused(int length, int ids)
    {
        var cache = new PieceCache(10, 1 << 20);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Add(new string('x', length), new int[ids]));
        Assert.Equal(0, cache.Count);
    }
}
