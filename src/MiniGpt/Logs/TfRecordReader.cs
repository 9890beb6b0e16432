using System.Buffers.Binary;
using MiniGpt.IO;

namespace MiniGpt.Logs;

/// <summary>
/// Reads TFRecord framing, TensorBoard's event-file format: uint64 length, uint32 masked CRC-32C of the
/// length, the payload, uint32 masked CRC-32C of the payload. A record cut short at the end of the file
/// (a run still writing) is skipped with a warning, as TensorBoard does; a CRC mismatch is reported and the
/// rest of the file is not trusted.
/// </summary>
public static class TfRecordReader
{
    /// <summary>TFRecord's mask: rotate right by 15 bits and add a constant.</summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + 0xa282ead8u;

    public sealed record Result(IReadOnlyList<byte[]> Records, IReadOnlyList<string> Warnings, string? Error);

    /// <summary>The largest event file read: 1 GB, which is read whole (a run's scalars take kilobytes a thousand steps).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <param name="maxFileBytes">At most <see cref="MaxFileBytes"/>; less only for tests.</param>
    public static Result Read(string path, int maxFileBytes = (int)MaxFileBytes)
    {
        if (EmptyFile.Size(path) is not { } size) return new([], [], $"{path}: a link to nothing");
        if (size > maxFileBytes) return new([], [], $"{path}: {size:N0} bytes, more than the {maxFileBytes:N0} an event file is read up to");
        if (size == 0) return new([], [], null);   // not opened: a FIFO would wait for a writer
        var bytes = FileBytes.Read(path, maxFileBytes);   // a file that grows past its size is still read only to the limit
        if (bytes is null) return new([], [], $"{path}: more than the {maxFileBytes:N0} bytes an event file is read up to");
        var records = new List<byte[]>();
        var warnings = new List<string>();
        long pos = 0;
        while (pos < bytes.Length)
        {
            if (bytes.Length - pos < 12)
            {
                warnings.Add($"{path}: incomplete record header at byte {pos} skipped (file still being written?)");
                break;
            }
            var header = bytes.AsSpan((int)pos, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)pos + 8)) != Mask(Crc32C.Compute(header)))
                return new(records, warnings, $"{path}: length CRC mismatch at byte {pos}; the file is corrupt from there on");
            if (length > (ulong)(bytes.Length - pos - 12) || (ulong)(bytes.Length - pos - 12) - length < 4)   // length + 4 could wrap round
            {
                warnings.Add($"{path}: incomplete record at byte {pos} skipped (file still being written?)");
                break;
            }
            var data = bytes.AsSpan((int)pos + 12, (int)length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)(pos + 12 + (long)length))) != Mask(Crc32C.Compute(data)))
                return new(records, warnings, $"{path}: data CRC mismatch in the record at byte {pos}; the file is corrupt from there on");
            records.Add(data.ToArray());
            pos += 12 + (long)length + 4;
        }
        return new(records, warnings, null);
    }
}
