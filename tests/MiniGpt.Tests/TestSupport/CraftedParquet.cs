using System.Buffers.Binary;
using System.Text;

namespace MiniGpt.Tests.TestSupport;

/// <summary>
/// Parquet files written byte by byte (Thrift's compact protocol), so that a test can make one lie: a row count, a
/// page size, a footer. One optional UTF-8 column, PLAIN values, uncompressed, one data page per row group.
/// </summary>
public static class CraftedParquet
{
    /// <summary>A Thrift compact struct, written field by field.</summary>
    public sealed class Struct
    {
        readonly List<byte> b = [];
        int last;

        void Header(int id, int type)
        {
            if (id - last is > 0 and <= 15) b.Add((byte)((id - last) << 4 | type));
            else { b.Add((byte)type); b.AddRange(ZigZag(id)); }
            last = id;
        }

        public Struct I32(int id, long v) { Header(id, 5); b.AddRange(ZigZag(v)); return this; }
        public Struct I64(int id, long v) { Header(id, 6); b.AddRange(ZigZag(v)); return this; }
        public Struct Str(int id, string s) { Header(id, 8); b.AddRange(Varint((ulong)Encoding.UTF8.GetByteCount(s))); b.AddRange(Encoding.UTF8.GetBytes(s)); return this; }
        public Struct Child(int id, Struct s) { Header(id, 12); b.AddRange(s.End()); return this; }

        /// <summary>A list of structs (type 12), of strings (8) or of i32s (5).</summary>
        public Struct List(int id, int elementType, params object[] items)
        {
            Header(id, 9);
            b.Add((byte)(items.Length < 15 ? items.Length << 4 | elementType : 0xF0 | elementType));
            if (items.Length >= 15) b.AddRange(Varint((ulong)items.Length));
            foreach (var item in items)
                b.AddRange(item switch
                {
                    Struct s => s.End(),
                    string s => [.. Varint((ulong)Encoding.UTF8.GetByteCount(s)), .. Encoding.UTF8.GetBytes(s)],
                    int i => ZigZag(i),
                    _ => throw new ArgumentException($"a list of {item.GetType().Name}"),
                });
            return this;
        }

        /// <summary>The struct's bytes, closed with its stop byte.</summary>
        public byte[] End() => [.. b, 0];
    }

    public static byte[] Varint(ulong n)
    {
        var o = new List<byte>();
        for (; n >= 0x80; n >>= 7) o.Add((byte)(n & 0x7F | 0x80));
        o.Add((byte)n);
        return [.. o];
    }

    static byte[] ZigZag(long n) => Varint((ulong)(n << 1 ^ n >> 63));

    /// <summary>
    /// A row group: its values (null for a null row), then <paramref name="NullsAfter"/> null rows (one run of definition
    /// levels, a few bytes however many), with what its metadata claims where a test says so.
    /// </summary>
    public sealed record Group(string?[] Values, long NullsAfter = 0, long? Rows = null, long? NumValues = null, int? PageUncompressedSize = null)
    {
        public long Count => Values.Length + NullsAfter;
    }

    /// <summary>The file's bytes: "PAR1", each group's one page, the footer, its length, "PAR1".</summary>
    public static byte[] Bytes(string column, params Group[] groups)
    {
        var file = new List<byte>("PAR1"u8.ToArray());
        var rowGroups = new List<Struct>();
        foreach (var g in groups)
        {
            long offset = file.Count;
            var present = g.Values.Where(v => v is not null).ToArray();
            // Definition levels as RLE runs (1 present, 0 null), one run per stretch; then the present values, PLAIN.
            var levels = new List<byte>();
            for (int i = 0; i < g.Values.Length;)
            {
                int j = i;
                while (j < g.Values.Length && (g.Values[j] is null) == (g.Values[i] is null)) j++;
                levels.AddRange(Varint((ulong)(j - i) << 1));
                levels.Add(g.Values[i] is null ? (byte)0 : (byte)1);
                i = j;
            }
            if (g.NullsAfter > 0) { levels.AddRange(Varint((ulong)g.NullsAfter << 1)); levels.Add(0); }
            var body = new List<byte>(BitConverter.GetBytes(levels.Count)); body.AddRange(levels);
            foreach (var v in present) { body.AddRange(BitConverter.GetBytes(Encoding.UTF8.GetByteCount(v!))); body.AddRange(Encoding.UTF8.GetBytes(v!)); }
            var header = new Struct().I32(1, 0).I32(2, g.PageUncompressedSize ?? body.Count).I32(3, body.Count)
                .Child(5, new Struct().I32(1, g.Count).I32(2, 0).I32(3, 3).I32(4, 3));   // data page: PLAIN, RLE levels
            file.AddRange(header.End()); file.AddRange(body);
            long size = file.Count - offset;
            var meta = new Struct().I32(1, 6).List(2, 5, 0, 3).List(3, 8, column).I32(4, 0)   // BYTE_ARRAY; PLAIN, RLE; uncompressed
                .I64(5, g.NumValues ?? g.Count).I64(6, size).I64(7, size).I64(9, offset);
            rowGroups.Add(new Struct().List(1, 12, new Struct().I64(2, offset).Child(3, meta)).I64(2, size).I64(3, g.Rows ?? g.Count));
        }
        var schema = new object[] { new Struct().Str(4, "schema").I32(5, 1), new Struct().I32(1, 6).I32(3, 1).Str(4, column).I32(6, 0) };   // OPTIONAL UTF8
        var footer = new Struct().I32(1, 1).List(2, 12, schema).I64(3, groups.Sum(g => g.Rows ?? g.Count)).List(4, 12, [.. rowGroups]).End();
        return WithFooter([.. file], footer);
    }

    /// <summary>A file of <paramref name="body"/> (after "PAR1") and <paramref name="footer"/>, as its length and magic number close it.</summary>
    public static byte[] WithFooter(byte[] body, byte[] footer)
    {
        var start = body.AsSpan().StartsWith("PAR1"u8) ? body : [.. "PAR1"u8, .. body];
        var length = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)footer.Length);
        return [.. start, .. footer, .. length, .. "PAR1"u8];
    }
}
