using System.Buffers.Binary;
using System.Text;

namespace MiniGpt.Tests.TestSupport;

/// <summary>Safetensors files built byte by byte, as a foreign writer or a damaged download could leave them.</summary>
public static class CraftedSafeTensors
{
    /// <summary>A file of the 8-byte length, <paramref name="json"/> as it is (no padding) and <paramref name="data"/>.</summary>
    public static string Write(TempDir dir, string json, byte[]? data = null) => WriteBytes(dir, Encoding.UTF8.GetBytes(json), data ?? []);

    /// <param name="headerLength">The length the file claims; by default the true one.</param>
    public static string WriteBytes(TempDir dir, byte[] json, byte[] data, ulong? headerLength = null)
    {
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, headerLength ?? (ulong)json.Length);
        var path = dir.File("crafted.safetensors");
        File.WriteAllBytes(path, [.. length, .. json, .. data]);
        return path;
    }

    /// <summary>One tensor's header entry.</summary>
    public static string Entry(string dtype, string shape, string offsets) => $$"""{"dtype":"{{dtype}}","shape":{{shape}},"data_offsets":{{offsets}}}""";
}
