namespace MiniGpt.Data;

/// <summary>
/// Checks that a Parquet file's footer (its FileMetaData, Thrift's compact protocol) is well formed before Parquet.Net
/// parses it: every field of a known type, every length and count within the footer, values nested at most
/// <see cref="MaxDepth"/> deep, the last struct closed inside it. Parquet.Net 6.1 reads a footer cut short as if it
/// went on, and skipping an unknown field past its end never returns: one changed byte made it loop for ever.
/// </summary>
public static class ParquetFooter
{
    /// <summary>FileMetaData nests structs and lists about eight deep (row groups, a column chunk, its metadata, statistics); room to spare.</summary>
    public const int MaxDepth = 32;

    /// <summary>The longest footer read: 1 GB. Footers of files with thousands of row groups run to megabytes.</summary>
    public const int MaxFooterBytes = 1 << 30;

    /// <summary>What is wrong with the footer of the Parquet file in <paramref name="stream"/>, or null when it reads; leaves the stream at 0.</summary>
    public static string? Problem(Stream stream)
    {
        try { return Check(stream); }
        finally { stream.Position = 0; }
    }

    static string? Check(Stream stream)
    {
        long size = stream.Length;
        if (size < 12) return $"{size} bytes, too short for a Parquet file";
        Span<byte> tail = stackalloc byte[8];
        stream.Position = size - 8;
        stream.ReadExactly(tail);
        if (tail[4..].SequenceEqual("PARE"u8)) return "it ends with PARE: its footer is encrypted, and MiniGpt reads no encrypted file";
        if (!tail[4..].SequenceEqual("PAR1"u8)) return "it does not end with PAR1";
        long length = BitConverter.ToUInt32(tail);   // little-endian, as the format and this machine are
        if (length > size - 12) return $"its footer claims {length:N0} bytes, and the file has {size - 12:N0} between its magic numbers";
        if (length > MaxFooterBytes) return $"its footer claims {length:N0} bytes, more than the {MaxFooterBytes:N0} MiniGpt reads";
        var footer = new byte[length];
        stream.Position = size - 8 - length;
        stream.ReadExactly(footer);
        try
        {
            int at = 0;
            SkipStruct(footer, ref at, 1);
            return null;
        }
        catch (FormatException e) { return $"its footer is not well formed ({e.Message})"; }
    }

    // Thrift compact protocol types.
    const int True = 1, False = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8, List = 9, Set = 10, Map = 11, Struct = 12;

    static void SkipStruct(ReadOnlySpan<byte> b, ref int at, int depth)
    {
        if (depth > MaxDepth) throw new FormatException($"structs nested more than {MaxDepth} deep");
        for (int header; (header = Next(b, ref at)) != 0;)
        {
            if (header >> 4 == 0) Varint(b, ref at);   // the field id, given in full
            int type = header & 0x0F;
            if (type is True or False) continue;      // a field's boolean is its type
            Skip(b, ref at, type, depth);
        }
    }

    static void Skip(ReadOnlySpan<byte> b, ref int at, int type, int depth)
    {
        if (type is List or Set or Map && depth >= MaxDepth) throw new FormatException($"values nested more than {MaxDepth} deep");
        switch (type)
        {
            case True or False or Byte: Next(b, ref at); break;   // in a list, a boolean is a byte
            case I16 or I32 or I64: Varint(b, ref at); break;
            case Double: Take(b, ref at, 8); break;
            case Binary: Take(b, ref at, Count(b, ref at)); break;
            case List or Set:
            {
                int header = Next(b, ref at), count = header >> 4 == 15 ? Count(b, ref at) : header >> 4;
                for (int i = 0; i < count; i++) Skip(b, ref at, header & 0x0F, depth + 1);
                break;
            }
            case Map:
            {
                int count = Count(b, ref at), types = count > 0 ? Next(b, ref at) : 0;
                for (int i = 0; i < count; i++) { Skip(b, ref at, types >> 4, depth + 1); Skip(b, ref at, types & 0x0F, depth + 1); }
                break;
            }
            case Struct: SkipStruct(b, ref at, depth + 1); break;
            default: throw new FormatException($"type {type} at byte {at - 1}");
        }
    }

    static int Next(ReadOnlySpan<byte> b, ref int at)
        => at < b.Length ? b[at++] : throw new FormatException($"it ends inside a value, at byte {at}");

    static void Take(ReadOnlySpan<byte> b, ref int at, int n)
        => at = n <= b.Length - at ? at + n : throw new FormatException($"{n:N0} bytes at byte {at}, past its end");

    static ulong Varint(ReadOnlySpan<byte> b, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            int x = Next(b, ref at);
            value |= (ulong)(x & 0x7F) << shift;
            if (x < 0x80) return value;
        }
        throw new FormatException($"a number longer than ten bytes, at byte {at}");
    }

    /// <summary>A length or element count: each element takes at least a byte, so a count beyond the bytes left is false.</summary>
    static int Count(ReadOnlySpan<byte> b, ref int at)
    {
        ulong n = Varint(b, ref at);
        return n <= (ulong)(b.Length - at) ? (int)n : throw new FormatException($"a count of {n:N0} at byte {at}, more than the {b.Length - at:N0} to its end");
    }
}
