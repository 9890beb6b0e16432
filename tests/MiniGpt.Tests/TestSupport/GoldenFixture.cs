using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.TestSupport;

/// <summary>Reads the fixture written by scripts/make_golden_fixture.py (layout described there).</summary>
public sealed class GoldenFixture
{
    public required JsonElement Header { get; init; }
    public required Dictionary<string, Tensor> Tensors { get; init; }

    public static GoldenFixture Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (Encoding.ASCII.GetString(bytes, 0, 8) != "MGPTGOLD") throw new InvalidDataException($"{path}: not a golden fixture");
        int headerLength = BitConverter.ToInt32(bytes, 8);
        var header = JsonDocument.Parse(bytes.AsMemory(12, headerLength)).RootElement;
        int dataStart = 12 + headerLength;
        var tensors = new Dictionary<string, Tensor>();
        foreach (var e in header.GetProperty("tensors").EnumerateArray())
        {
            var shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var values = new float[count];
            Buffer.BlockCopy(bytes, dataStart + 4 * e.GetProperty("offset").GetInt32(), values, 0, (int)count * 4);
            tensors[e.GetProperty("name").GetString()!] = tensor(values).reshape(shape);
        }
        return new GoldenFixture { Header = header, Tensors = tensors };
    }

    public Tensor Tokens(string key)
    {
        var rows = Header.GetProperty(key).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        var flat = rows.SelectMany(r => r).ToArray();
        return tensor(flat).reshape(rows.Length, rows[0].Length);
    }
}
