using System.Diagnostics;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace MiniGpt.Tests.Build;

/// <summary>
/// build/ReadyToRun.targets, run by MSBuild on a copy of an IL assembly (System.CommandLine, which the CLI ships): a
/// Release build puts a ReadyToRun image in the output that loads and runs, remakes it only when its IL changes,
/// and leaves the IL where it cannot compile (a Debug build, a compiler that fails). Whether a file is an image is
/// read from its PE header, not from the build's log.
/// </summary>
public class ReadyToRunTests
{
    static bool IsImage(string dll)
    {
        using var pe = new PEReader(File.OpenRead(dll));
        return pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0;
    }

    /// <summary>
    /// A project whose one assembly comes from a package, as most of the CLI's do, importing the targets with what
    /// the SDK would set.
    /// </summary>
    sealed class Project : IDisposable
    {
        readonly TestSupport.TempDir dir = new();
        const string Name = "System.CommandLine.dll";
        readonly string file, packages, dotnet, version, targets;
        string package = "1.0.0";

        /// <summary>The IL: the package's copy in the package cache.</summary>
        public string Input => Path.Combine(dir.Path, "packages", package, Name);
        public string Output => Path.Combine(dir.Path, "out", Name);
        public string Image => Path.Combine(dir.Path, "obj", "R2R", "System.CommandLine", package, Name);

        public Project()
        {
            file = dir.File("r2r.proj");
            dotnet = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
            packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                       ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            // The compiler restored for the CLI (its PackageDownload), at a version whose runtime is installed.
            var crossgen = Path.Combine(packages, "microsoft.netcore.app.crossgen2.linux-x64");
            version = (Directory.Exists(crossgen) ? Directory.GetDirectories(crossgen) : []).Select(Path.GetFileName)
                .Where(v => Directory.Exists(Path.Combine(dotnet, "shared", "Microsoft.NETCore.App", v!))).Order().LastOrDefault()!;
            Assert.True(version is not null, $"no crossgen2 under {crossgen} for an installed runtime: restoring the CLI project downloads it");
            targets = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "build", "ReadyToRun.targets"));
            UsePackage("1.0.0", Path.Combine(AppContext.BaseDirectory, Name));
        }

        /// <summary>
        /// Makes the project take <paramref name="il"/> as version <paramref name="v"/> of the package, its file dated
        /// as given (NuGet keeps the times a package's files were packed with, which can be older than anything built).
        /// </summary>
        public void UsePackage(string v, string il, DateTime? written = null)
        {
            package = v;
            Directory.CreateDirectory(Path.GetDirectoryName(Input)!);
            File.Copy(il, Input, overwrite: true);
            if (written is { } w) File.SetLastWriteTimeUtc(Input, w);
            Assert.False(IsImage(Input), $"{Input} is already an image; the test needs IL");
            File.WriteAllText(file, $"""
                <Project>
                  <PropertyGroup>
                    <ReadyToRunOnBuild>true</ReadyToRunOnBuild>
                    <NETCoreSdkRuntimeIdentifier>linux-x64</NETCoreSdkRuntimeIdentifier>
                    <NuGetPackageRoot>{packages}/</NuGetPackageRoot>
                    <BundledNETCoreAppPackageVersion>{version}</BundledNETCoreAppPackageVersion>
                    <NetCoreRoot>{dotnet}/</NetCoreRoot>
                    <IntermediateOutputPath>{dir.Path}/obj/</IntermediateOutputPath>
                    <OutDir>{dir.Path}/out/</OutDir>
                  </PropertyGroup>
                  <ItemGroup>
                    <ReferenceCopyLocalPaths Include="{Input}" NuGetPackageId="System.CommandLine" NuGetPackageVersion="{v}" DestinationSubDirectory="" />
                  </ItemGroup>
                  <Import Project="{targets}" />
                  <!-- The SDK's build copies the IL to the output first. -->
                  <Target Name="Build"><Copy SourceFiles="{Input}" DestinationFolder="{dir.Path}/out/" /><CallTarget Targets="ReadyToRunOutput" /></Target>
                  <Target Name="Clean" />
                </Project>
                """);
        }

        /// <summary>Runs the build; returns its log, after checking that it succeeded.</summary>
        public string Build(string configuration, params string[] properties) => Run("Build", configuration, properties);

        public string Run(string target, string configuration, params string[] properties)
        {
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
                ["msbuild", file, $"-t:{target}", "-nologo", "-v:n", $"-p:Configuration={configuration}", .. properties.Select(p => $"-p:{p}")])
                { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            var log = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, log);
            return log;
        }

        /// <summary>An executable script in the project's folder.</summary>
        public string Script(string name, string text)
        {
            var path = dir.File(name, text.Replace("\r\n", "\n") + "\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return path;
        }

        public void Dispose() => dir.Dispose();
    }

    [Fact]
    public void ARelease_PutsAnImageThatRuns_InTheOutput_AndRemakesItOnlyWhenItsILChanges()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64) return;   // the targets' platform
        using var project = new Project();
        project.Build("Release");
        Assert.True(IsImage(project.Output), "the output's copy is still IL");

        // The image is a working assembly: loaded on its own, it parses a command line.
        var context = new AssemblyLoadContext("r2r", isCollectible: true);
        try
        {
            var assembly = context.LoadFromAssemblyPath(project.Output);
            var root = Activator.CreateInstance(assembly.GetType("System.CommandLine.RootCommand")!, "a test")!;
            var parse = root.GetType().GetMethods().First(m => m.Name == "Parse" && m.GetParameters()[0].ParameterType.IsAssignableFrom(typeof(string[])));
            var result = parse.Invoke(root, [.. parse.GetParameters().Select(p => p.Position == 0 ? (object)new[] { "extra" } : null)])!;
            var errors = (System.Collections.ICollection)result.GetType().GetProperty("Errors")!.GetValue(result)!;
            Assert.Single(errors);   // "extra" is an unknown argument of a command that takes none
        }
        finally { context.Unload(); }

        var made = File.GetLastWriteTimeUtc(project.Image);
        project.Build("Release");
        Assert.Equal(made, File.GetLastWriteTimeUtc(project.Image));   // unchanged IL: not compiled again

        File.SetLastWriteTimeUtc(project.Input, made.AddSeconds(5));
        project.Build("Release");
        Assert.NotEqual(made, File.GetLastWriteTimeUtc(project.Image));
        Assert.True(IsImage(project.Output));

        project.Run("Clean", "Release");   // dotnet clean: the next build compiles everything again
        Assert.False(File.Exists(project.Image));
    }

    [Fact]
    public void AnotherVersionOfAPackage_IsCompiled_EvenWhenItsFileIsOlderThanTheImage()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64) return;
        using var project = new Project();
        project.Build("Release");
        var first = File.GetLastWriteTimeUtc(project.Image);
        // Version 2 of the package is another assembly here, so that which one the output holds shows; it was packed long ago.
        project.UsePackage("2.0.0", Path.Combine(AppContext.BaseDirectory, "Microsoft.Extensions.Primitives.dll"), first.AddYears(-1));
        project.Build("Release");
        Assert.True(IsImage(project.Output));
        Assert.Equal("Microsoft.Extensions.Primitives", System.Reflection.AssemblyName.GetAssemblyName(project.Output).Name);
    }

    [Fact]
    public void ACompilerThatFails_OrADebugBuild_LeavesTheIL_AndNoImageOfOlderIL()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64) return;
        using var project = new Project();
        project.Build("Release");
        Assert.True(IsImage(project.Output));

        // New IL, and a compiler killed after writing part of its output: the build warns and goes on, the image of
        // the old IL goes, and the part is never taken for an image.
        var killed = project.Script("killed-crossgen2", """
            #!/bin/sh
            for a; do case "$a" in -o:*) printf 'MZ' > "${a#-o:}";; esac; done
            kill -9 $$
            """);
        File.SetLastWriteTimeUtc(project.Input, File.GetLastWriteTimeUtc(project.Image).AddSeconds(5));
        var log = project.Build("Release", $"_Crossgen2={killed}");
        Assert.Contains("warning MSB3073", log);
        Assert.False(File.Exists(project.Image), "an image is there, of the IL before or part of one, to be copied");
        Assert.False(IsImage(project.Output), "the output holds an image of IL it was not built from");
        project.Build("Release");   // the next build compiles it
        Assert.True(IsImage(project.Output));

        File.Delete(project.Output);
        project.Build("Debug");
        Assert.False(IsImage(project.Output), "a Debug build's output was precompiled");
    }
}
