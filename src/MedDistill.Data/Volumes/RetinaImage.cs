using System.IO.Compression;
using BitMiracle.LibTiff.Classic;
using ImageMagick;

namespace MedDistill.Data.Volumes;

/// <summary>
/// The retinal data sets' own formats: STARE's PPM/PGM (usually gzipped, <c>.ppm.gz</c>) and DRIVE's GIF labels and FOV
/// masks through Magick.NET, DRIVE's TIFF images through BitMiracle.LibTiff.NET (a managed libtiff port: every
/// compression and layout libtiff reads, and writes that carry no timestamp, so a phantom's bytes depend on its seed only).
/// A colour image becomes (H, W, 3) R G B, a greyscale one (H, W), stored type uint8, like <see cref="RasterImage"/>.
/// <para>
/// Every reader asks for the dimensions first (Magick's ping, the TIFF directory) and checks them against
/// <see cref="ReadLimits"/> before decoding any pixels, and names the file in every error.
/// </para>
/// </summary>
public static class RetinaImage
{
    static RetinaImage() => Tiff.SetErrorHandler(new QuietTiffErrors()); // libtiff would print to stderr; errors surface as exceptions here

    public static bool IsPnm(ReadOnlySpan<byte> head) => head.Length >= 3 && head[0] == 'P' && head[1] is (byte)'5' or (byte)'6' && head[2] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or (byte)'#';

    public static bool IsGif(ReadOnlySpan<byte> head) => head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8);

    public static bool IsTiff(ReadOnlySpan<byte> head) => head.StartsWith("II*\0"u8) || head.StartsWith("MM\0*"u8);

    /// <summary>A PPM (P6) or PGM (P5) file, gzipped when its name ends in <c>.gz</c> or its bytes start with gzip's magic.</summary>
    public static Volume ReadPnm(string path, ReadLimits? limits = null)
    {
        limits ??= ReadLimits.Default;
        var bytes = ReadAll(path);
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) bytes = Gunzip(path, bytes, limits);
        // P5 (PGM) is one channel, P6 three, whatever the pixels hold: the header decides, as NumPy/PIL readers do.
        bool pgm = bytes.Length >= 2 && bytes[0] == 'P' && bytes[1] == '5';
        return ReadWithMagick(path, bytes, MagickFormat.Pnm, "PPM/PGM", limits, grey: pgm);
    }

    public static Volume ReadGif(string path, ReadLimits? limits = null) =>
        ReadWithMagick(path, ReadAll(path), MagickFormat.Gif, "GIF", limits ?? ReadLimits.Default, grey: null);

    public static Volume ReadTiff(string path, ReadLimits? limits = null)
    {
        limits ??= ReadLimits.Default;
        var bytes = ReadAll(path);
        using var tiff = Tiff.ClientOpen(path, "r", new MemoryStream(bytes, writable: false), new TiffStream())
            ?? throw new DataFormatException(path, "not a readable TIFF file (bad header or first directory)");
        int width = tiff.GetField(TiffTag.IMAGEWIDTH)?[0].ToInt() ?? 0, height = tiff.GetField(TiffTag.IMAGELENGTH)?[0].ToInt() ?? 0;
        VoxelDecoding.CheckedVoxelCount(path, [height, width, 3], limits);
        int samples = tiff.GetField(TiffTag.SAMPLESPERPIXEL)?[0].ToInt() ?? 1;
        var photometric = (Photometric)(tiff.GetField(TiffTag.PHOTOMETRIC)?[0].ToInt() ?? 1);
        var raster = new int[width * height];
        // libtiff's RGBA path decodes every compression, strip/tile layout and bit depth into one packed ABGR layout.
        bool ok;
        try { ok = tiff.ReadRGBAImageOriented(width, height, raster, BitMiracle.LibTiff.Classic.Orientation.TOPLEFT, stopOnError: true); }
        catch (Exception e) when (e is not OutOfMemoryException) { throw new DataFormatException(path, $"the TIFF data is corrupt or truncated ({e.Message})", e); }
        if (!ok) throw new DataFormatException(path, "the TIFF data is corrupt or truncated (libtiff could not decode every strip)");
        bool grey = samples == 1 && photometric is Photometric.MINISBLACK or Photometric.MINISWHITE;
        var data = new float[(grey ? 1 : 3) * raster.Length];
        for (int i = 0; i < raster.Length; i++)
        {
            int p = raster[i];
            if (grey) data[i] = Tiff.GetR(p);
            else (data[3 * i], data[3 * i + 1], data[3 * i + 2]) = (Tiff.GetR(p), Tiff.GetG(p), Tiff.GetB(p));
        }
        return new Volume(data, grey ? [height, width] : [height, width, 3], null, VoxelType.UInt8);
    }

    /// <summary>Binary PPM (P6) bytes of R, G, B pixels, or PGM (P5) bytes when <paramref name="grey"/> holds one byte a pixel.</summary>
    public static byte[] EncodePnm(ReadOnlySpan<byte> pixels, int width, int height, bool grey = false) =>
        EncodeWithMagick(pixels, width, height, grey, grey ? MagickFormat.Pgm : MagickFormat.Ppm);

    /// <summary>GIF bytes; exact for images of at most 256 distinct colours (masks, labels), quantised otherwise.</summary>
    public static byte[] EncodeGif(ReadOnlySpan<byte> pixels, int width, int height, bool grey = false) =>
        EncodeWithMagick(pixels, width, height, grey, MagickFormat.Gif);

    /// <summary>Uncompressed 8-bit TIFF (RGB, or greyscale when <paramref name="grey"/>), one strip, as DRIVE's images are stored.</summary>
    public static byte[] EncodeTiff(ReadOnlySpan<byte> pixels, int width, int height, bool grey = false)
    {
        int channels = grey ? 1 : 3;
        CheckPixels(pixels, width, height, channels);
        var stream = new MemoryStream();
        using (var tiff = Tiff.ClientOpen("memory", "w", stream, new TiffStream()) ?? throw new InvalidOperationException("LibTiff could not open a memory stream"))
        {
            tiff.SetField(TiffTag.IMAGEWIDTH, width);
            tiff.SetField(TiffTag.IMAGELENGTH, height);
            tiff.SetField(TiffTag.SAMPLESPERPIXEL, channels);
            tiff.SetField(TiffTag.BITSPERSAMPLE, 8);
            tiff.SetField(TiffTag.PHOTOMETRIC, grey ? Photometric.MINISBLACK : Photometric.RGB);
            tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
            tiff.SetField(TiffTag.COMPRESSION, Compression.NONE);
            tiff.SetField(TiffTag.ROWSPERSTRIP, height);
            var row = new byte[width * channels];
            for (int y = 0; y < height; y++)
            {
                pixels.Slice(y * row.Length, row.Length).CopyTo(row);
                if (!tiff.WriteScanline(row, y)) throw new InvalidOperationException($"LibTiff failed to write row {y}");
            }
        }
        return stream.ToArray();
    }

    /// <summary>gzip of <paramref name="bytes"/> (header without a timestamp, so equal input gives equal files).</summary>
    public static byte[] Gzip(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(bytes);
        return output.ToArray();
    }

    private static byte[] ReadAll(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        return File.ReadAllBytes(path);
    }

    private static byte[] Gunzip(string path, byte[] bytes, ReadLimits limits)
    {
        // An 8-bit RGB image at the voxel limit, plus room for the header: more than that is a bomb or not an image.
        long cap = 3 * limits.MaxVoxels + 4096;
        var output = new MemoryStream();
        try
        {
            using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            var buffer = new byte[1 << 16];
            int n;
            while ((n = gz.Read(buffer)) > 0)
            {
                if (output.Length + n > cap) throw new DataFormatException(path, $"decompresses to more than {cap} bytes, larger than any image within ReadLimits.MaxVoxels");
                output.Write(buffer, 0, n);
            }
        }
        catch (InvalidDataException e) { throw new DataFormatException(path, $"the gzip stream is corrupt or truncated ({e.Message})", e); }
        // .NET's inflater stops quietly at a cut-off stream; what came out is then checked by the image decoder.
        if (output.Length == 0) throw new DataFormatException(path, "the gzip stream is truncated (it holds no data)");
        return output.ToArray();
    }

    private static Volume ReadWithMagick(string path, byte[] bytes, MagickFormat format, string name, ReadLimits limits, bool? grey)
    {
        if (bytes.Length == 0) throw new DataFormatException(path, $"is empty, not a {name} image");
        // The format is named, never sniffed: Magick then uses only that one coder whatever the bytes claim.
        var settings = new MagickReadSettings { Format = format };
        try
        {
            var info = new MagickImageInfo();
            info.Read(bytes, settings);
            VoxelDecoding.CheckedVoxelCount(path, [info.Height, info.Width, 3], limits);
            using var image = new MagickImage(bytes, settings);
            int width = (int)image.Width, height = (int)image.Height;
            using var pixels = image.GetPixelsUnsafe();
            var rgb = pixels.ToByteArray(PixelMapping.RGB) ?? throw new DataFormatException(path, $"{name}: no pixels");
            // A GIF has only a palette, so one whose colours are all grey is a greyscale image (DRIVE's masks).
            bool oneChannel = grey ?? AllGrey(rgb);
            var data = new float[oneChannel ? width * height : rgb.Length];
            if (oneChannel) for (int i = 0; i < data.Length; i++) data[i] = rgb[3 * i];
            else for (int i = 0; i < data.Length; i++) data[i] = rgb[i];
            return new Volume(data, oneChannel ? [height, width] : [height, width, 3], null, VoxelType.UInt8);
        }
        catch (MagickException e) { throw new DataFormatException(path, $"not a readable {name} image, or corrupt or truncated (Magick.NET: {e.Message})", e); }
    }

    private static bool AllGrey(byte[] rgb)
    {
        for (int i = 0; i < rgb.Length; i += 3)
            if (rgb[i] != rgb[i + 1] || rgb[i] != rgb[i + 2]) return false;
        return true;
    }

    private static byte[] EncodeWithMagick(ReadOnlySpan<byte> pixels, int width, int height, bool grey, MagickFormat format)
    {
        CheckPixels(pixels, width, height, grey ? 1 : 3);
        var read = new PixelReadSettings((uint)width, (uint)height, StorageType.Char, PixelMapping.RGB);
        byte[] rgb;
        if (grey)
        {
            rgb = new byte[3 * pixels.Length];
            for (int i = 0; i < pixels.Length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = pixels[i];
        }
        else rgb = pixels.ToArray();
        using var image = new MagickImage(rgb, read);
        if (grey) image.ColorType = ColorType.Grayscale;
        image.Format = format;
        return image.ToByteArray();
    }

    private static void CheckPixels(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"an image needs at least one pixel, got {width}×{height}");
        if (pixels.Length != (long)channels * width * height)
            throw new ArgumentException($"{width}×{height} pixels of {channels} channel(s) need {(long)channels * width * height} bytes, got {pixels.Length}", nameof(pixels));
    }

    private sealed class QuietTiffErrors : TiffErrorHandler
    {
        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args) { }
        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) { }
        public override void WarningHandler(Tiff tif, string method, string format, params object[] args) { }
        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) { }
    }
}
