namespace MiniGpt.Tests.TestSupport;

/// <summary>A stream that accepts a number of bytes and then fails as a full disk would.</summary>
public sealed class FailingStream(Stream inner, long failAfter) : Stream
{
    long written;
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (written + buffer.Length > failAfter) throw new IOException("No space left on device (simulated)");
        inner.Write(buffer);
        written += buffer.Length;
    }
    public override void Flush() => inner.Flush();
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => written;
    public override long Position { get => written; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
