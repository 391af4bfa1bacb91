// Interop oracle for protected configuration, on the .NET class library (Mono).
//
//   encrypt CONFIG KEYXML OAEP ALG   encrypt CONFIG's connectionStrings section in place, composed
//                                    exactly as RsaProtectedConfigurationProvider.Encrypt composes
//                                    EncryptedXml (OAEP: 0|1; ALG: tripledes|aes128|aes192|aes256)
//   decrypt CONFIG KEYXML            decrypt the section with EncryptedXml, as
//                                    RsaProtectedConfigurationProvider.Decrypt does; print it (hex)
//   install-key KEYXML CONTAINER     put KEYXML into the user key container CONTAINER (under $HOME)
//   read CONFIG                      print every connection string ConfigurationManager sees,
//                                    decrypting through the provider this program's own .exe.config
//                                    declares: <hex name> <hex value> per line
//
// Exits 2 with the exception on stderr when .NET refuses.
using System;
using System.Configuration;
using System.IO;
using System.Security.Cryptography;
using System.Security.Cryptography.Xml;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;

static class ProtectedConfig
{
    static string Hex(string s)
    {
        if (string.IsNullOrEmpty(s)) return "-";
        var sb = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(s)) sb.Append(b.ToString("x2"));
        return sb.ToString();
    }

    static int Main(string[] a)
    {
        try
        {
            switch (a[0])
            {
                case "encrypt": Encrypt(a[1], a[2], a[3] == "1", a[4]); break;
                case "decrypt": Console.WriteLine(Hex(Decrypt(a[1], a[2]))); break;
                case "install-key": InstallKey(a[1], a[2]); break;
                case "read": Read(a[1]); break;
                default: throw new ArgumentException("unknown command " + a[0]);
            }
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e.GetType().Name + ": " + e.Message);
            return 2;
        }
    }

    static RSACryptoServiceProvider Key(string path)
    {
        var rsa = new RSACryptoServiceProvider();
        rsa.FromXmlString(File.ReadAllText(path));
        return rsa;
    }

    static void Encrypt(string config, string keyXml, bool oaep, string alg)
    {
        var doc = new XmlDocument { PreserveWhitespace = true };
        doc.Load(config);
        var section = (XmlElement)doc.SelectSingleNode("/configuration/connectionStrings");
        var rsa = Key(keyXml);
        // As RsaProtectedConfigurationProvider.Encrypt: the section's outer XML inside <foo>,
        // encrypted as content with a fresh session key; the key RSA-encrypted (written with the
        // rsa-1_5 URI even for OAEP); key name "Rsa Key".
        var work = new XmlDocument { PreserveWhitespace = true };
        work.LoadXml("<foo>" + section.OuterXml + "</foo>");
        var exml = new EncryptedXml(work);
        SymmetricAlgorithm sym;
        string url;
        switch (alg)
        {
            case "aes128": sym = new RijndaelManaged { KeySize = 128 }; url = EncryptedXml.XmlEncAES128Url; break;
            case "aes192": sym = new RijndaelManaged { KeySize = 192 }; url = EncryptedXml.XmlEncAES192Url; break;
            case "aes256": sym = new RijndaelManaged { KeySize = 256 }; url = EncryptedXml.XmlEncAES256Url; break;
            default: sym = new TripleDESCryptoServiceProvider(); url = EncryptedXml.XmlEncTripleDESUrl; break;
        }
        sym.GenerateKey();
        byte[] output = exml.EncryptData(work.DocumentElement, sym, true);
        var ed = new EncryptedData { Type = EncryptedXml.XmlEncElementUrl, EncryptionMethod = new EncryptionMethod(url), KeyInfo = new KeyInfo() };
        var ek = new EncryptedKey { EncryptionMethod = new EncryptionMethod(EncryptedXml.XmlEncRSA15Url), KeyInfo = new KeyInfo(), CipherData = new CipherData() };
        ek.CipherData.CipherValue = EncryptedXml.EncryptKey(sym.Key, rsa, oaep);
        ek.KeyInfo.AddClause(new KeyInfoName { Value = "Rsa Key" });
        ed.KeyInfo.AddClause(new KeyInfoEncryptedKey(ek));
        ed.CipherData = new CipherData { CipherValue = output };
        EncryptedXml.ReplaceElement(work.DocumentElement, ed, true);
        XmlNode encrypted = null;
        foreach (XmlNode n in work.DocumentElement.ChildNodes)
            if (n.NodeType == XmlNodeType.Element) encrypted = n;
        section.RemoveAll();
        section.SetAttribute("configProtectionProvider", "K2ConfigurationKey");
        section.AppendChild(doc.ImportNode(encrypted, true));
        doc.Save(config);
    }

    static string Decrypt(string config, string keyXml)
    {
        var doc = new XmlDocument { PreserveWhitespace = true };
        doc.Load(config);
        var data = doc.SelectSingleNode("/configuration/connectionStrings/*[local-name()='EncryptedData']");
        var work = new XmlDocument { PreserveWhitespace = true };
        work.LoadXml(data.OuterXml);
        var exml = new EncryptedXml(work);
        exml.AddKeyNameMapping("Rsa Key", Key(keyXml));
        exml.DecryptDocument();
        return work.DocumentElement.OuterXml;
    }

    static void InstallKey(string keyXml, string container)
    {
        // Mono does not persist a key imported into a named container (FromXmlString keeps it in
        // memory only), so let Mono create the container file, then put the key into it.
        var csp = new RSACryptoServiceProvider(new CspParameters { KeyContainerName = container }) { PersistKeyInCsp = true };
        csp.Clear();
        var store = Path.Combine(Environment.GetEnvironmentVariable("HOME"), ".config", ".mono", "keypairs");
        var files = Directory.GetFiles(store, "*.xml");
        if (files.Length != 1) throw new InvalidOperationException("expected one key container in " + store + ", found " + files.Length);
        var text = File.ReadAllText(files[0]);
        text = Regex.Replace(text, "<RSAKeyValue>.*</RSAKeyValue>", File.ReadAllText(keyXml).Trim(), RegexOptions.Singleline);
        File.WriteAllText(files[0], text);
        var check = new RSACryptoServiceProvider(new CspParameters { KeyContainerName = container });
        if (check.ToXmlString(false) != Key(keyXml).ToXmlString(false)) throw new InvalidOperationException("the key did not stick");
    }

    static void Read(string config)
    {
        var map = new ExeConfigurationFileMap { ExeConfigFilename = config };
        var cfg = ConfigurationManager.OpenMappedExeConfiguration(map, ConfigurationUserLevel.None);
        foreach (ConnectionStringSettings cs in cfg.ConnectionStrings.ConnectionStrings)
            Console.WriteLine(Hex(cs.Name) + " " + Hex(cs.ConnectionString));
    }
}
