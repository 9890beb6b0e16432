using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace MiniGpt.Data;

/// <summary>Bytes that are not UTF-8, at <see cref="Offset"/> in <see cref="DataException.Path"/> (or in the stream, when no file is known).</summary>
public sealed class InvalidUtf8Exception(long offset, string? path = null)
    : DataException(path ?? "", (path is null ? "" : $"{path}: ") + $"invalid UTF-8 at byte offset {offset}")
{
    public long Offset { get; } = offset;
}

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
    public void Decode(ReadOnlySpan<byte> chunk, bool final, List<int> output) => Walk(chunk, final, output);

    /// <summary>Checks <paramref name="chunk"/> as <see cref="Decode"/> does and returns how many scalar values it holds, keeping none.</summary>
    public long Count(ReadOnlySpan<byte> chunk, bool final) => Walk(chunk, final, output: null);

    long Walk(ReadOnlySpan<byte> chunk, bool final, List<int>? output)
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

        // At most one scalar value per byte: write straight into the list's storage, then trim.
        int start = output?.Count ?? 0;
        if (output is not null) CollectionsMarshal.SetCount(output, start + span.Length);
        var dst = output is null ? [] : CollectionsMarshal.AsSpan(output)[start..];
        int i = 0, n = 0;
        while (i < span.Length)
        {
            int ascii = span[i..].IndexOfAnyExceptInRange((byte)0, (byte)0x7F);   // vectorised scan for the next non-ASCII byte
            int run = ascii < 0 ? span.Length - i : ascii;
            if (output is not null) for (int k = 0; k < run; k++) dst[n + k] = span[i + k];
            (i, n) = (i + run, n + run);
            if (i >= span.Length) break;
            var status = Rune.DecodeFromUtf8(span[i..], out var rune, out int consumed);
            if (status == OperationStatus.Done) { if (output is not null) dst[n] = rune.Value; n++; i += consumed; continue; }
            if (status == OperationStatus.NeedMoreData && !final)
            {
                span[i..].CopyTo(carry);
                carried = span.Length - i;
                break;
            }
            if (!replaceInvalid)
            {
                if (output is not null) CollectionsMarshal.SetCount(output, start + n);
                throw new InvalidUtf8Exception(offset + i);
            }
            if (output is not null) dst[n] = 0xFFFD;
            n++;
            i += consumed;
        }
        if (output is not null) CollectionsMarshal.SetCount(output, start + n);
        offset += span.Length;
        if (joined is not null) ArrayPool<byte>.Shared.Return(joined);
        return n;
    }
}
