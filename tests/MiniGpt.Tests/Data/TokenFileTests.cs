using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class TokenFileTests
{
    static string Write(TempDir dir, int bytesPerToken, params int[] ids)
    {
        var path = dir.File($"t{bytesPerToken}.bin");
        using var w = new TokenFileWriter(path, bytesPerToken);
        w.Write(ids);
        w.Complete();
        return path;
    }

    [Fact]
    public void Complete_AgainDoesNothing()
    {
        // prepare completes train.bin on another thread as soon as it is whole, and again where it always has.
        using var dir = new TempDir();
        var path = dir.File("t.bin");
        using var w = new TokenFileWriter(path, 2);
        w.Write([5, 6]);
        w.Complete();
        var first = File.ReadAllBytes(path);
        w.Complete();
        Assert.Equal(first, File.ReadAllBytes(path));
        using var r = new TokenFileReader(path);
        Assert.Equal([5L, 6], r.ReadAll());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void RoundTrip(int bytesPerToken)
    {
        using var dir = new TempDir();
        int big = bytesPerToken == 2 ? 65535 : 1_000_000;
        var path = Write(dir, bytesPerToken, 0, 7, big, 3);
        using var r = new TokenFileReader(path);
        Assert.Equal(4, r.Count);
        Assert.Equal([0L, 7, big, 3], r.ReadAll());
        Assert.Equal(TokenFile.HeaderSize + 4 * bytesPerToken, new FileInfo(path).Length);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void ManyIds_InWritesOfManySizes_ReadBackInOrder_AndABadIdWritesNoneOfItsCall(int bytesPerToken)
    {
        using var dir = new TempDir();
        var path = dir.File("many.bin");
        var rng = new Random(5);
        int largest = bytesPerToken == 2 ? ushort.MaxValue : int.MaxValue;
        var expected = new List<long>();
        using (var w = new TokenFileWriter(path, bytesPerToken))
        {
            // Writes of 1 to 40,000 ids end anywhere in the writer's 64 KB buffer, and some fill it more than once.
            for (int n = 1; expected.Count < 300_000; n = n * 7 % 40_000 + 1)
            {
                var ids = Enumerable.Range(0, n).Select(i => i == n / 2 ? largest : rng.Next(largest)).ToArray();
                w.Write(ids);
                expected.AddRange(ids.Select(i => (long)i));
            }
            var bad = new int[5000];
            bad[4321] = bytesPerToken == 2 ? ushort.MaxValue + 1 : -1;
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => w.Write(bad));
            Assert.Contains($"id {bad[4321]} does not fit uint{8 * bytesPerToken}", ex.Message);
            bad[4321] = 0;
            bad[17] = -1;
            Assert.Throws<ArgumentOutOfRangeException>(() => w.Write(bad));
            Assert.Equal(expected.Count, w.Count);
            w.Write([largest]);
            expected.Add(largest);
            w.Complete();
        }
        using var r = new TokenFileReader(path);
        Assert.Equal(expected, r.ReadAll());
    }

    [Fact]
    public void EveryOneByteHeaderCorruption_IsRejected()
    {
        using var dir = new TempDir();
        var path = Write(dir, 2, 1, 2, 3);
        var good = File.ReadAllBytes(path);
        for (int i = 0; i < TokenFile.HeaderSize - 4; i++)   // the last 4 bytes are reserved padding
        {
            var bad = (byte[])good.Clone();
            bad[i] ^= 0x01;
            File.WriteAllBytes(path, bad);
            var ex = Assert.Throws<DataException>(() => TokenFile.ReadHeader(path));
            Assert.Contains(path, ex.Message);
        }
    }

    [Fact]
    public void TruncatedFile_IsRejected_WithBothSizes()
    {
        using var dir = new TempDir();
        var path = Write(dir, 2, Enumerable.Range(0, 100).ToArray());
        using (var f = new FileStream(path, FileMode.Open)) f.SetLength(f.Length - 3);
        var ex = Assert.Throws<DataException>(() => new TokenFileReader(path));
        Assert.Contains("100 tokens", ex.Message);
        Assert.Contains("229 bytes", ex.Message);
    }

    [Fact]
    public void ACountWhoseSizeWrapsRound_IsRejected()
    {
        // (2⁶² + 3) · 4 bytes is 2⁶⁴ + 12: in 64 bits, the 12 bytes the file holds. Read, it was an internal error.
        using var dir = new TempDir();
        var path = Write(dir, 4, 1, 2, 3);
        var bytes = File.ReadAllBytes(path);
        TokenFile.Header(4, (1L << 62) + 3).CopyTo(bytes, 0);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<DataException>(() => new TokenFileReader(path));
        Assert.Equal($"{path}: header says {(1L << 62) + 3} tokens (more than a file holds) but the file has 44 bytes; it is truncated or damaged", ex.Message);
    }

    [Fact]
    public void AbandonedWriter_LeavesNothingAtThePath()
    {
        using var dir = new TempDir();
        var path = dir.File("never.bin");
        using (var w = new TokenFileWriter(path, 2)) w.Write([1, 2, 3]);   // disposed without Complete()
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void IdTooLargeForUInt16_IsRefused()
    {
        using var dir = new TempDir();
        using var w = new TokenFileWriter(dir.File("x.bin"), 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Write([70000]));
    }
}
