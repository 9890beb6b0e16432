using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;
using static MiniGpt.Tests.TestSupport.CraftedParquet;

namespace MiniGpt.Tests.Data;

public class ParquetFooterTests
{
    static string? ProblemOf(byte[] file) { using var s = new MemoryStream(file); return ParquetFooter.Problem(s); }

    [Fact]
    public void TheFootersOfThreeWriters_AreWellFormed()
    {
        using var dir = new TempDir();
        var parquetNet = File.ReadAllBytes(CorpusFiles.Parquet(dir.File("c.parquet"), "text", ["a", "b"], ["c", null, "e"]));
        var hyparquet = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "documents_hyparquet.parquet"));
        var crafted = CraftedParquet.Bytes("text", new Group(["a", "b"]), new Group([null, "c"], NullsAfter: 1000));
        Assert.All(new[] { parquetNet, hyparquet, crafted }, f => Assert.Null(ProblemOf(f)));
    }

    public static TheoryData<string, byte[], string> Damaged()
    {
        var good = CraftedParquet.Bytes("text", new Group(["hello", "world"]), new Group(["third"]));
        var stopFlipped = (byte[])good.Clone();
        stopFlipped[^9] = 0x1C;   // the footer's last stop byte becomes "next field, a struct", and the footer runs out inside it
        byte[] version = [0x15, 0x02];   // field 1, i32 1
        return new()
        {
            { "its last stop byte changed", stopFlipped, "its footer is not well formed (it ends inside a value, at byte " },
            { "a struct field with nothing after it", WithFooter([], [.. version, 0x0C, 0x64]), "its footer is not well formed (it ends inside a value, at byte 4)" },
            { "structs 40 deep", WithFooter([], [.. version, 0x0C, 0x64, .. Enumerable.Repeat((byte)0x1C, 40), .. new byte[42]]), "structs nested more than 32 deep" },
            // Lists of lists recurse too: 100,000 deep would overflow the stack of a walk that did not count them.
            { "lists 100,000 deep", WithFooter([], [.. version, 0x19, .. Enumerable.Repeat((byte)0x19, 100_000)]), "values nested more than 32 deep" },
            { "a list of a billion", WithFooter([], [.. version, 0x19, 0xFC, .. Varint(1_000_000_000), 0]), "a count of 1,000,000,000 at byte 9, more than the 1 to its end" },
            { "a string longer than the footer", WithFooter([], [.. version, 0x18, .. Varint(int.MaxValue)]), "a count of 2,147,483,647" },
            { "a type Thrift has not", WithFooter([], [.. version, 0x1D, 0]), "type 13 at byte 2" },
            { "a length beyond the file", [.. good[..^8], 0xF0, 0xFF, 0xFF, 0x7F, .. "PAR1"u8], "its footer claims 2,147,483,632 bytes, and the file has " },
            { "no magic number at the end", good[..^1], "it does not end with PAR1" },
            { "an encrypted footer", [.. good[..^4], .. "PARE"u8], "it ends with PARE: its footer is encrypted" },
            { "eleven bytes", "PAR1abcPAR1"u8.ToArray(), "11 bytes, too short for a Parquet file" },
        };
    }

    [Theory]
    [MemberData(nameof(Damaged))]
    public void ADamagedFooter_IsNamed_BeforeParquetNetReadsIt(string damage, byte[] file, string problem)
    {
        Assert.True(ProblemOf(file)?.Contains(problem), $"{damage}: {ProblemOf(file)}");
    }

    [Fact]
    public void TheStream_IsLeftAtItsStart_WhateverTheFooter()
    {
        foreach (var file in new[] { CraftedParquet.Bytes("text", new Group(["a"])), "PAR1abcdefghPAR1"u8.ToArray(), "PAR1abcdefghPARx"u8.ToArray() })
        {
            using var s = new MemoryStream(file);
            ParquetFooter.Problem(s);
            Assert.Equal(0, s.Position);
        }
    }

    [Fact]
    public void AFooterOfGigabytes_IsRefused_BeforeItIsRead()
    {
        using var s = new SparseTail(5L << 30, [0x00, 0x00, 0x00, 0xF0, .. "PAR1"u8]);   // 5 GB, its footer claims 3.75 GB
        Assert.Equal("its footer claims 4,026,531,840 bytes, more than the 1,073,741,824 MiniGpt reads", ParquetFooter.Problem(s));
    }

    /// <summary>A stream of <paramref name="length"/> bytes, zeros but for its last ones: a large file that takes no room.</summary>
    sealed class SparseTail(long length, byte[] tail) : Stream
    {
        public override long Length => length;
        public override long Position { get; set; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, length - Position);
            for (int i = 0; i < n; i++) buffer[offset + i] = Position + i >= length - tail.Length ? tail[Position + i - (length - tail.Length)] : (byte)0;
            Position += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => Position + offset, _ => length + offset };
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public void Prepare_NamesTheDamagedFooter()
    {
        using var dir = new TempDir();
        var good = CraftedParquet.Bytes("text", new Group(["hello"]));
        var corpus = dir.File("c.parquet");
        File.WriteAllBytes(corpus, [.. good[..^8], 0xF0, 0xFF, 0xFF, 0x7F, .. "PAR1"u8]);
        var ex = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, dir.File("out"))));
        Assert.StartsWith($"{corpus}: the whole file: not a readable Parquet file (its footer claims 2,147,483,632 bytes", ex.Message);
    }
}
