using MiniGpt.IO;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.IO;

public class EmptyFileTests
{
    [Fact]
    public void ARelativeLinkInALinkedFolder_IsFollowedAsTheKernelFollowsIt()
    {
        // A hub snapshot's files are links ../../blobs/…; reached through a link to the snapshot, .NET resolved them
        // against the path as written and found nothing there, so every model folder reached so was refused.
        using var dir = new TempDir();
        dir.File("hub/blobs/config", "{ }");
        Directory.CreateDirectory(Path.Combine(dir.Path, "hub/snapshots/abc"));
        File.CreateSymbolicLink(Path.Combine(dir.Path, "hub/snapshots/abc/config.json"), "../../blobs/config");
        Directory.CreateSymbolicLink(Path.Combine(dir.Path, "my-model"), Path.Combine(dir.Path, "hub/snapshots/abc"));
        var through = Path.Combine(dir.Path, "my-model", "config.json");
        Assert.Equal("{ }", File.ReadAllText(through));   // as the kernel sees it
        Assert.Equal(3L, EmptyFile.Size(through));
        Assert.False(EmptyFile.Is(through));
    }

    [Fact]
    public void ALinkToNothing_NamesNothing_AndAPipeOfProcessSubstitutionIsItself()
    {
        // .NET takes a link to nothing for a file of its own: a hub snapshot whose blobs were deleted passed as complete.
        using var dir = new TempDir();
        var dangling = Path.Combine(dir.Path, "dangling");
        File.CreateSymbolicLink(dangling, "../deleted-blob");
        Assert.True(File.Exists(dangling));   // .NET's view
        Assert.Null(EmptyFile.Size(dangling));
        Assert.False(EmptyFile.Is(dangling));
        Assert.False(MiniGpt.Hub.HubCache.IsComplete(dangling));
        // /proc/self/fd/N of a pipe links to "pipe:[…]", no path, yet opens: --prompt-file <(echo hi) and the like.
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.Out);
        var fd = $"/proc/self/fd/{pipe.ClientSafePipeHandle.DangerousGetHandle()}";
        Assert.NotNull(EmptyFile.Size(fd));
    }

    [Fact]
    public void EmptyFilesPipesAndDevices_SayNoBytes_ThroughLinks()
    {
        using var dir = new TempDir();
        var empty = dir.File("empty", "");
        var fifo = Fifo.Make(Path.Combine(dir.Path, "fifo"));
        File.CreateSymbolicLink(Path.Combine(dir.Path, "zero"), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(dir.Path, "to-fifo"), "fifo");
        foreach (var path in new[] { empty, fifo, Path.Combine(dir.Path, "zero"), Path.Combine(dir.Path, "to-fifo") })
            Assert.True(EmptyFile.Is(path), path);
        Assert.False(EmptyFile.Is(dir.File("full", "x")));
        Assert.False(EmptyFile.Is(Path.Combine(dir.Path, "missing")));
    }
}
