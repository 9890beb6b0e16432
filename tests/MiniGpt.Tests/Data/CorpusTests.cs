using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class CorpusTests
{
    [Fact]
    public void AFolder_IsWalkedWithoutFollowingLinksToFolders_ButWithLinksToFiles()
    {
        using var dir = new TempDir();
        var root = Directory.CreateDirectory(Path.Combine(dir.Path, "corpus")).FullName;
        File.WriteAllText(Path.Combine(root, "a.jsonl"), "{\"text\":\"a\"}\n");
        Directory.CreateDirectory(Path.Combine(root, "sub", "deeper"));
        File.WriteAllText(Path.Combine(root, "sub", "deeper", "b.txt"), "b");
        File.WriteAllText(Path.Combine(dir.Path, "outside.txt"), "c");
        File.CreateSymbolicLink(Path.Combine(root, "sub", "c.txt"), Path.Combine(dir.Path, "outside.txt"));
        // Links back up would read a.jsonl again and again; two of them made the walk exponential.
        Directory.CreateSymbolicLink(Path.Combine(root, "sub", "up"), "..");
        Directory.CreateSymbolicLink(Path.Combine(root, "x"), ".");
        Directory.CreateSymbolicLink(Path.Combine(root, "y"), ".");
        Directory.CreateSymbolicLink(Path.Combine(root, "elsewhere"), dir.Path);

        Assert.Equal([Path.Combine(root, "a.jsonl"), Path.Combine(root, "sub", "c.txt"), Path.Combine(root, "sub", "deeper", "b.txt")],
            Corpus.ResolveFiles(root));
    }
}
