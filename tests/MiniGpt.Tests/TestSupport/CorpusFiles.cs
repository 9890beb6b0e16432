using System.IO.Compression;
using System.Text;
using Parquet;
using Parquet.Schema;

namespace MiniGpt.Tests.TestSupport;

/// <summary>Writes small corpora of documents: JSON Lines, gzipped JSON Lines and Parquet (by Parquet.Net).</summary>
public static class CorpusFiles
{
    public static string JsonLines(string path, IEnumerable<string> lines)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    public static string Texts(string path, params string[] texts)
        => JsonLines(path, texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t })));

    public static string Gzip(string path, string jsonLines)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Optimal);
        gz.Write(Encoding.UTF8.GetBytes(jsonLines));
        return path;
    }

    /// <summary>A Parquet file with one string column, one row group per array.</summary>
    public static string Parquet(string path, string column, params string?[][] rowGroups) => Parquet(path, column, nullable: true, rowGroups);

    /// <summary>As <see cref="Parquet(string, string, string?[][])"/>, the column REQUIRED: its pages hold no definition levels.</summary>
    public static string RequiredParquet(string path, string column, params string[][] rowGroups) => Parquet(path, column, nullable: false, rowGroups);

    static string Parquet(string path, string column, bool nullable, string?[][] rowGroups)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var field = new DataField<string>(column, nullable);
        using var file = File.Create(path);
        var writer = ParquetWriter.CreateAsync(new ParquetSchema(field), file).GetAwaiter().GetResult();
        foreach (var rows in rowGroups)
            using (var group = writer.CreateRowGroup())
                group.WriteAsync(field, rows!, null).GetAwaiter().GetResult();
        writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return path;
    }
}
