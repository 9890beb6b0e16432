using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using MiniGpt.IO;
using static TorchSharp.torch;

namespace MiniGpt.Formats;

/// <summary>
/// Writes safetensors files as PyTorch's safetensors writer does: the header's JSON padded with spaces so that the
/// data section starts at a multiple of 8, then each tensor's little-endian bytes, row-major, in the order given.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (any floating-point dtype, on any device) as <paramref name="dtype"/>,
    /// atomically: a failure leaves any previous file at <paramref name="path"/> as it was. Each tensor is
    /// converted and copied to the CPU one piece at a time (libtorch's rounding: to nearest even, NaN kept), so
    /// writing takes one piece of memory beside the tensors themselves.
    /// </summary>
    /// <param name="metadata">The header's "__metadata__", left out when null or empty; files for PyTorch carry {"format": "pt"}.</param>
    /// <param name="pieceBytes">How many bytes of the file each conversion makes (tests use small ones).</param>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, TensorDtype dtype,
                             IReadOnlyDictionary<string, string>? metadata = null, int pieceBytes = SafeTensorsFile.PieceBytes)
    {
        var list = tensors.ToList();
        if (!dtype.IsFloat()) throw new ArgumentException($"MiniGpt writes F32, F16 or BF16, not {dtype}", nameof(dtype));
        var header = Header(list, dtype, metadata);         // checks every name and tensor before the file is touched
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            foreach (var (_, t) in list) WriteData(stream, t, dtype, pieceBytes);
        });
    }

    /// <summary>The 8-byte length and the header's JSON, padded with spaces to a multiple of 8.</summary>
    static byte[] Header(List<(string Name, Tensor Tensor)> tensors, TensorDtype dtype, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names readable, as the reference writer leaves them.
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata) w.WriteString(key, value);
                w.WriteEndObject();
            }
            var names = new HashSet<string>();
            long offset = 0;
            foreach (var (name, t) in tensors)
            {
                if (name is null || name == SafeTensorsHeader.MetadataKey) throw new ArgumentException($"a tensor cannot be named {name ?? "null"}");
                if (!names.Add(name)) throw new ArgumentException($"tensor {name} is given twice");
                if (!t.is_floating_point()) throw new ArgumentException($"tensor {name} is {t.dtype}; only floating-point tensors are written");
                long end = offset + t.numel() * dtype.Size();
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype.ToString());
                w.WriteStartArray("shape");
                foreach (var d in t.shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(end);
                w.WriteEndArray();
                w.WriteEndObject();
                offset = end;
            }
            w.WriteEndObject();
        }
        int padded = (json.WrittenCount + 7) / 8 * 8;
        if (padded > SafeTensorsHeader.MaxBytes) throw new ArgumentException($"the header would be {padded} bytes, over the {SafeTensorsHeader.MaxBytes} readers accept");
        var header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        json.WrittenSpan.CopyTo(header.AsSpan(8));
        header.AsSpan(8 + json.WrittenCount).Fill((byte)' ');
        return header;
    }

    /// <summary>One tensor's bytes as <paramref name="dtype"/>, converted and brought to the CPU a piece at a time.</summary>
    static void WriteData(Stream stream, Tensor t, TensorDtype dtype, int pieceBytes)
    {
        using var detached = t.detach();
        using var flat = detached.reshape(-1);                                                  // (n), a view where it can be
        long count = flat.shape[0];
        int perPiece = Math.Max(1, pieceBytes / dtype.Size());
        for (long start = 0; start < count; start += perPiece)
        {
            using var piece = flat.narrow(0, start, Math.Min(perPiece, count - start));
            using var converted = piece.to(dtype.ScalarType(), CPU);
            using var dense = converted.contiguous();                                            // a strided view's piece is not
            stream.Write(dense.bytes);
        }
    }
}
