using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace MiniGpt.Formats;

/// <summary>
/// A safetensors file (https://github.com/huggingface/safetensors) open for reading: an 8-byte little-endian
/// header length N, N bytes of JSON naming each tensor's dtype, shape and place, then the tensors' bytes. The
/// file is untrusted: <see cref="Open"/> checks the whole header against the file's length before anything is
/// allocated, and <see cref="ReadFloat32"/> streams one tensor at a time in pieces, so a file larger than memory
/// can be read tensor by tensor. The file stays open (shared for reading) until disposed.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>How much of a tensor one read holds: large enough to read at disk speed, small beside any model.</summary>
    public const int PieceBytes = 16 << 20;

    readonly SafeFileHandle handle;
    readonly long length, dataStart;
    readonly Dictionary<string, SafeTensorInfo> byName;

    SafeTensorsFile(string path, SafeFileHandle handle, long length, long dataStart,
                    Dictionary<string, string> metadata, List<SafeTensorInfo> tensors)
    {
        (Path, this.handle, this.length, this.dataStart, Metadata, Tensors) = (path, handle, length, dataStart, metadata, tensors);
        byName = tensors.ToDictionary(t => t.Name);
    }

    public string Path { get; }

    /// <summary>The header's "__metadata__" (PyTorch writers put {"format": "pt"}); empty when it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor, in the order of their bytes in the file.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    public bool Contains(string name) => byName.ContainsKey(name);

    public SafeTensorInfo this[string name] => byName.TryGetValue(name, out var info) ? info : throw Missing(name);

    /// <summary>Opens <paramref name="path"/> and validates its header; allocates no tensor.</summary>
    public static SafeTensorsFile Open(string path)
    {
        SafeFileHandle handle;
        if (File.Exists(path) && IO.EmptyFile.Is(path)) throw new SafeTensorsException(path, $"the file is {IO.EmptyFile.Says}: it is truncated or not a safetensors file");
        try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new SafeTensorsException(path, "no such file"); }
        catch (UnauthorizedAccessException e) { throw new SafeTensorsException(path, $"cannot be read: {e.Message}"); }
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length < 8) throw new SafeTensorsException(path, $"the file is {length} bytes, too short to hold the 8-byte header length: it is truncated or not a safetensors file");
            var prefix = new byte[8];
            ReadAt(handle, path, prefix, 0, "the header length");
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (n == 0) throw new SafeTensorsException(path, "the header length is 0; even an empty header is \"{}\"");
            if (n > SafeTensorsHeader.MaxBytes) throw new SafeTensorsException(path, $"the header length {n} is over the {SafeTensorsHeader.MaxBytes}-byte limit: the file is damaged or not a safetensors file");
            if ((long)n > length - 8) throw new SafeTensorsException(path, $"the header length {n} runs past the end of the {length}-byte file: it is truncated");
            var json = new byte[n];
            ReadAt(handle, path, json, 8, "the header");
            long dataStart = 8 + (long)n;
            var (metadata, tensors) = SafeTensorsHeader.Parse(path, json, length - dataStart);
            return new SafeTensorsFile(path, handle, length, dataStart, metadata, tensors);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One tensor as a float32 CPU tensor of its shape. F32 pieces are read straight into the result's memory; F16
    /// and BF16 pieces go through one piece-sized buffer and widen exactly, sign and NaN payload included (libtorch's
    /// copy_ rewrites some NaNs), so the peak is the result plus one piece. A file that changed size or shrank since
    /// <see cref="Open"/> is an error, never a short read.
    /// </summary>
    /// <param name="pieceBytes">How many bytes of the file each read takes (tests use small ones).</param>
    public Tensor ReadFloat32(string name, int pieceBytes = PieceBytes)
    {
        var info = this[name];
        if (info.Dtype.NotRead() is { } problem) throw new SafeTensorsException(Path, $"tensor {Text.Show(name)} has {problem}");
        long now = RandomAccess.GetLength(handle);
        if (now != length) throw new SafeTensorsException(Path, $"the file changed size since it was opened ({length} bytes, now {now}): it is being rewritten or was truncated");
        int size = info.Dtype.Size();
        long count = (info.End - info.Begin) / size;
        int perPiece = Math.Max(1, pieceBytes / size);
        var what = $"tensor {Text.Show(name)}";
        var result = empty(info.Shape, float32);
        var buffer = info.Dtype == TensorDtype.F32 ? null : ArrayPool<byte>.Shared.Rent((int)Math.Min(count, perPiece) * size);
        try
        {
            using var flat = result.view(-1);                                                   // (count)
            for (long start = 0; start < count; start += perPiece)
            {
                int n = (int)Math.Min(perPiece, count - start);
                long at = dataStart + info.Begin + start * size;
                using var into = flat.narrow(0, start, n);
                if (buffer is null) ReadAt(handle, Path, into.bytes, at, what);
                else
                {
                    ReadAt(handle, Path, buffer.AsSpan(0, n * size), at, what);
                    HalfWidths.Widen(info.Dtype, MemoryMarshal.Cast<byte, ushort>(buffer.AsSpan(0, n * size)), MemoryMarshal.Cast<byte, uint>(into.bytes));
                }
            }
        }
        catch
        {
            result.Dispose();
            throw;
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }
        return result;
    }

    /// <summary>Fills <paramref name="into"/> from byte <paramref name="offset"/>; the file ending first is an error, never a short read.</summary>
    static void ReadAt(SafeFileHandle handle, string path, Span<byte> into, long offset, string what)
    {
        for (int done = 0; done < into.Length;)
        {
            int n = RandomAccess.Read(handle, into[done..], offset + done);
            if (n == 0) throw new SafeTensorsException(path, $"the file ends at byte {offset + done}, in {what}: it was truncated while being read");
            done += n;
        }
    }

    SafeTensorsException Missing(string name) => new(Path, $"there is no tensor {Text.Show(name)} among its {Tensors.Count} tensors");

    public void Dispose() => handle.Dispose();
}
