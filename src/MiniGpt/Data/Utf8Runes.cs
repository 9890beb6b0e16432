using System.Buffers;
using System.Text;

namespace MiniGpt.Data;

/// <summary>
/// Decodes a UTF-8 byte stream into Unicode scalar values, chunk by chunk, carrying a sequence split
/// across chunks over to the next. Invalid bytes stop it with their offset, or become U+FFFD (one per
/// maximal invalid subsequence, as .NET's replacement decoder does) when replacement is asked for.
/// </summary>
public sealed class Utf8Runes(bool replaceInvalid)
{
    readonly byte[] carry = new byte[4];
    int carried;
    long offset;   // bytes consumed before the current chunk's first byte, carry included

    /// <summary>Appends the scalar values of <paramref name="chunk"/> to <paramref name="output"/>.</summary>
    public void Decode(ReadOnlySpan<byte> chunk, bool final, List<int> output)
    {
        ReadOnlySpan<byte> span;
        byte[]? joined = null;
        if (carried > 0)
        {
            joined = ArrayPool<byte>.Shared.Rent(carried + chunk.Length);
            carry.AsSpan(0, carried).CopyTo(joined);
            chunk.CopyTo(joined.AsSpan(carried));
            span = joined.AsSpan(0, carried + chunk.Length);
            offset -= carried;
            carried = 0;
        }
        else span = chunk;

        int i = 0;
        while (i < span.Length)
        {
            byte b = span[i];
            if (b < 0x80) { output.Add(b); i++; continue; }
            var status = Rune.DecodeFromUtf8(span[i..], out var rune, out int consumed);
            if (status == OperationStatus.Done) { output.Add(rune.Value); i += consumed; continue; }
            if (status == OperationStatus.NeedMoreData && !final)
            {
                span[i..].CopyTo(carry);
                carried = span.Length - i;
                break;
            }
            if (!replaceInvalid)
                throw new InvalidDataException($"invalid UTF-8 at byte offset {offset + i} (use --replace-invalid-utf8 to replace it with U+FFFD)");
            output.Add(0xFFFD);
            i += consumed;
        }
        offset += span.Length;
        if (joined is not null) ArrayPool<byte>.Shared.Return(joined);
    }
}
