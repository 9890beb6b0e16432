using System.IO.Compression;
using System.Reflection;

namespace MiniGpt.Data;

/// <summary>
/// The decompressed bytes of a gzip file, which must end where its compressed data does. .NET's
/// <see cref="GZipStream"/> reads a file cut short (a download that stopped) to its last whole byte and then
/// reports an ordinary end: the shard would pass as a shorter one, its last line cut, or lines lost silently when
/// the cut falls between them. At that end this reader asks the stream's inflater whether the last gzip member
/// was complete (its CRC-32 and length checked by zlib), and throws <see cref="InvalidDataException"/> if not.
/// </summary>
sealed class GzipReader(Stream compressed) : Stream
{
    readonly GZipStream inner = new(compressed, CompressionMode.Decompress);
    bool ended;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        if (n == 0 && buffer.Length > 0 && !ended)
        {
            if (Complete(inner) == false)
                throw new InvalidDataException("the file ends inside its compressed data, before its last member's checksum: it is truncated");
            ended = true;
        }
        return n;
    }

    /// <summary>
    /// Whether the inflater behind a gzip stream read to its end finished its last member; null if this runtime's
    /// stream is not built as expected. It has no public way to say so: the question is asked of its private
    /// fields, <c>GZipStream._deflateStream._inflater.Finished()</c>, as in .NET 5 to 10.
    /// </summary>
    internal static bool? Complete(GZipStream stream)
    {
        const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        var deflate = typeof(GZipStream).GetField("_deflateStream", Private)?.GetValue(stream);
        var inflater = deflate is null ? null : typeof(DeflateStream).GetField("_inflater", Private)?.GetValue(deflate);
        var finished = inflater?.GetType().GetMethod("Finished", BindingFlags.Public | Private, Type.EmptyTypes);
        return finished?.ReturnType == typeof(bool) ? (bool)finished.Invoke(inflater, null)! : null;
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
