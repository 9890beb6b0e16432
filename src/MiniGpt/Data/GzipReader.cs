using System.IO.Compression;
using System.Reflection;

namespace MiniGpt.Data;

/// <summary>
/// The decompressed bytes of a gzip file, which must end where its compressed data does. .NET's
/// <see cref="GZipStream"/> reads a file cut short (a download that stopped) to its last whole byte and then
/// reports an ordinary end: the shard would pass as a shorter one, its last line cut, or lines lost silently when
/// the cut falls between them. It also stops, without a word, at bytes after a member that do not begin another:
/// trailing garbage, or a whole member whose header was damaged. At that end this reader asks the stream's
/// inflater whether the last member was complete (its CRC-32 and length checked by zlib) and whether input is left
/// over, and throws <see cref="InvalidDataException"/> for either.
/// </summary>
sealed class GzipReader(Stream compressed) : Stream
{
    readonly GZipStream inner = new(compressed, CompressionMode.Decompress);
    bool ended;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        // .NET words every zlib data error, a checksum that does not match included, as "compressed using an
        // unsupported compression method".
        try { n = inner.Read(buffer); }
        catch (InvalidDataException e) { throw new InvalidDataException("its compressed data does not decode, or a member's checksum or length does not match", e); }
        if (n == 0 && buffer.Length > 0 && !ended)
        {
            if (Ask(inner, "Finished") == false)
                throw new InvalidDataException("the file ends inside its compressed data, before its last member's checksum: it is truncated");
            if (Ask(inner, "NeedsInput") == false)
                throw new InvalidDataException("bytes follow its last gzip member that do not begin another: trailing data, or a member whose header is damaged");
            ended = true;
        }
        return n;
    }

    /// <summary>
    /// What the inflater behind a gzip stream read to its end says: <c>Finished()</c>, whether its last member was
    /// complete, or <c>NeedsInput()</c>, false while input is left over. Null if this runtime's stream is not built as
    /// expected: it has no public way to say either, so the question is asked of its private fields,
    /// <c>GZipStream._deflateStream._inflater</c>, as in .NET 5 to 10.
    /// </summary>
    static bool? Ask(GZipStream stream, string method)
    {
        const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        var deflate = typeof(GZipStream).GetField("_deflateStream", Private)?.GetValue(stream);
        var inflater = deflate is null ? null : typeof(DeflateStream).GetField("_inflater", Private)?.GetValue(deflate);
        var question = inflater?.GetType().GetMethod(method, BindingFlags.Public | Private, Type.EmptyTypes);
        return question?.ReturnType == typeof(bool) ? (bool)question.Invoke(inflater, null)! : null;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
