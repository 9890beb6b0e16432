using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;
using MiniGpt.IO;

namespace MiniGpt.Data;

/// <summary>
/// A binary file of token ids. Header (32 bytes, little-endian): magic "MGTOKENS", uint32 version,
/// uint32 bytes per token (2 = uint16, 4 = uint32), int64 count, uint32 CRC-32C of the 24 bytes before it,
/// uint32 zero. The ids follow. A damaged header, another version or a length that disagrees with the
/// count is rejected with the file named.
/// </summary>
public static class TokenFile
{
    public const int HeaderSize = 32;
    public const uint Version = 1;
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("MGTOKENS");

    /// <summary>uint16 when every id fits, otherwise uint32.</summary>
    public static int BytesPerToken(int vocabSize) => vocabSize <= 65536 ? 2 : 4;

    public static byte[] Header(int bytesPerToken, long count)
    {
        var h = new byte[HeaderSize];
        Magic.CopyTo(h, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), (uint)bytesPerToken);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(16), count);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), Crc32C.Compute(h.AsSpan(0, 24)));
        return h;
    }

    /// <summary>Keeps the first <paramref name="count"/> ids of a complete token file, and says so in its header.</summary>
    public static void Truncate(string path, long count)
    {
        var (bpt, had) = ReadHeader(path);
        if (count < 0 || count > had) throw new ArgumentOutOfRangeException(nameof(count), $"{count} ids of {had}");
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        f.SetLength(HeaderSize + count * bpt);
        f.Write(Header(bpt, count));
        f.Flush(flushToDisk: true);
    }

    /// <summary>Whether <paramref name="path"/> is a file that begins as MiniGpt's token files do (the rest unchecked).</summary>
    public static bool IsOne(string path)
    {
        if (IO.EmptyFile.Size(path) is not >= HeaderSize) return false;   // nothing there, or not opened when it could be a pipe
        try
        {
            using var f = File.OpenRead(path);
            var start = new byte[Magic.Length];
            return f.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && start.AsSpan().SequenceEqual(Magic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }   // a link to nothing is no token file
    }

    /// <summary>Checks the header and the file's length; returns (bytes per token, count).</summary>
    public static (int BytesPerToken, long Count) ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new DataException(path, $"token file {path} not found");
        if (IO.EmptyFile.Is(path)) throw new DataException(path, $"{path}: {IO.EmptyFile.Says}, too short for a token file header");
        var h = new byte[HeaderSize];
        long length;
        using (var f = File.OpenRead(path))
        {
            length = f.Length;
            if (f.ReadAtLeast(h, HeaderSize, throwOnEndOfStream: false) < HeaderSize)
                throw new DataException(path, $"{path}: {length} bytes, too short for a token file header");
        }
        if (!h.AsSpan(0, 8).SequenceEqual(Magic)) throw new DataException(path, $"{path}: not a MiniGpt token file (bad magic)");
        if (BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(24)) != Crc32C.Compute(h.AsSpan(0, 24)))
            throw new DataException(path, $"{path}: header checksum mismatch; the file is damaged");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(8));
        if (version != Version) throw new DataException(path, $"{path}: token file version {version}; this MiniGpt reads version {Version}");
        int bpt = (int)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(12));
        if (bpt != 2 && bpt != 4) throw new DataException(path, $"{path}: {bpt} bytes per token; expected 2 or 4");
        long count = BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(16));
        // Compared by division: count · bpt of a crafted count (2⁶² + k) wraps round to the file's true length.
        if (count < 0 || count != (length - HeaderSize) / bpt || (length - HeaderSize) % bpt != 0)
            throw new DataException(path, $"{path}: header says {count} tokens ({(count < 0 || count > long.MaxValue / bpt - HeaderSize ? "more than a file holds" : $"{HeaderSize + count * bpt} bytes")}) but the file has {length} bytes; it is truncated or damaged");
        return (bpt, count);
    }
}

/// <summary>Streams ids into a token file, atomically: nothing appears at the path until <see cref="Complete"/>.</summary>
public sealed class TokenFileWriter : IDisposable
{
    readonly string path, tmp;
    readonly FileStream file;
    readonly int bytesPerToken;
    readonly byte[] buffer = new byte[1 << 16];
    int used;
    bool completed;

    public long Count { get; private set; }

    public TokenFileWriter(string path, int bytesPerToken)
    {
        // Ids are copied as they lie in memory (Write): little-endian, as on every host TorchSharp runs on.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("token files are little-endian, and this machine is not");
        this.path = path;
        this.bytesPerToken = bytesPerToken;
        tmp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, AtomicFile.TempName(path));
        file = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        file.Write(new byte[TokenFile.HeaderSize]);   // the real header is written once the count is known
    }

    /// <summary>
    /// Appends <paramref name="ids"/>, little-endian (see the constructor). Checked first, then copied a
    /// buffer's room at a time: a check and a call per id took a char prepare's writing thread about 3 ns a token (docs/benchmarks.md).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id does not fit the file's ids; none of <paramref name="ids"/> is written.</exception>
    public void Write(ReadOnlySpan<int> ids)
    {
        if ((bytesPerToken == 2 ? ids.IndexOfAnyExceptInRange(0, ushort.MaxValue) : ids.IndexOfAnyInRange(int.MinValue, -1)) is >= 0 and var bad)
            throw new ArgumentOutOfRangeException(nameof(ids), $"id {ids[bad]} does not fit uint{8 * bytesPerToken}");
        for (var rest = ids; !rest.IsEmpty;)
        {
            if (used + bytesPerToken > buffer.Length) FlushBuffer();
            int n = Math.Min(rest.Length, (buffer.Length - used) / bytesPerToken);
            var into = buffer.AsSpan(used, n * bytesPerToken);
            if (bytesPerToken == 4) MemoryMarshal.AsBytes(rest[..n]).CopyTo(into);
            else
            {
                var shorts = MemoryMarshal.Cast<byte, ushort>(into);
                for (int i = 0; i < n; i++) shorts[i] = (ushort)rest[i];
            }
            used += n * bytesPerToken;
            rest = rest[n..];
        }
        Count += ids.Length;
    }

    void FlushBuffer()
    {
        file.Write(buffer, 0, used);
        used = 0;
    }

    /// <summary>Writes the header, flushes the file to disk and moves it to its path; again, does nothing.</summary>
    public void Complete()
    {
        if (completed) return;
        FlushBuffer();
        file.Position = 0;
        file.Write(TokenFile.Header(bytesPerToken, Count));
        file.Flush(flushToDisk: true);
        file.Dispose();
        File.Move(tmp, path, overwrite: true);
        completed = true;
    }

    public void Dispose()
    {
        if (completed) return;
        file.Dispose();
        try { File.Delete(tmp); } catch (IOException) { }
    }
}

/// <summary>A token file mapped into memory; ids are read without loading the file.</summary>
public sealed class TokenFileReader : IDisposable
{
    readonly MemoryMappedFile map;
    readonly MemoryMappedViewAccessor view;
    public string Path { get; }
    public int BytesPerToken { get; }
    public long Count { get; }

    public TokenFileReader(string path)
    {
        Path = path;
        (BytesPerToken, Count) = TokenFile.ReadHeader(path);
        map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
    }

    /// <summary>Copies ids [start, start + dest.Length) into dest.</summary>
    public void Read(long start, Span<long> dest)
    {
        if (start < 0 || start + dest.Length > Count) throw new ArgumentOutOfRangeException(nameof(start), $"tokens {start}…{start + dest.Length} outside 0…{Count}");
        long offset = TokenFile.HeaderSize + start * BytesPerToken;
        if (BytesPerToken == 2)
        {
            var tmp = new ushort[dest.Length];
            view.ReadArray(offset, tmp, 0, tmp.Length);
            for (int i = 0; i < tmp.Length; i++) dest[i] = tmp[i];
        }
        else
        {
            var tmp = new uint[dest.Length];
            view.ReadArray(offset, tmp, 0, tmp.Length);
            for (int i = 0; i < tmp.Length; i++) dest[i] = tmp[i];
        }
    }

    public long[] ReadAll()
    {
        var all = new long[Count];
        Read(0, all);
        return all;
    }

    public void Dispose() { view.Dispose(); map.Dispose(); }
}
