#include "virt/domain_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <memory>
#include <set>
#include <string_view>

namespace rpfs::virt {
namespace {

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocDeleter>;

bool Is(const xmlNode* n, std::string_view name) {
  return n != nullptr && n->type == XML_ELEMENT_NODE &&
         std::string_view(reinterpret_cast<const char*>(n->name)) == name;
}

const xmlNode* Child(const xmlNode* n, std::string_view name) {
  for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
    if (Is(c, name)) return c;
  }
  return nullptr;
}

xmlNode* Child(xmlNode* n, std::string_view name) {
  return const_cast<xmlNode*>(Child(const_cast<const xmlNode*>(n), name));
}

std::string Attr(const xmlNode* n, const char* name) {
  if (n == nullptr) return "";
  xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

std::string Text(const xmlNode* n) {
  if (n == nullptr) return "";
  xmlChar* v = xmlNodeGetContent(n);
  if (v == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

void SetAttr(xmlNode* n, const char* name, const std::string& value) {
  xmlSetProp(n, reinterpret_cast<const xmlChar*>(name),
             reinterpret_cast<const xmlChar*>(value.c_str()));
}

void Remove(xmlNode* n) {
  xmlUnlinkNode(n);
  xmlFreeNode(n);
}

Result<Doc> Parse(const std::string& xml) {
  Doc doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) return Status::Corruption("domain XML does not parse");
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!Is(root, "domain")) return Status::Corruption("domain XML has no <domain> root");
  if (Text(Child(root, "name")).empty()) return Status::Corruption("domain XML has no <name>");
  return doc;
}

}  // namespace

Result<ParsedDomain> ParseDomainXml(const std::string& xml) {
  RPFS_ASSIGN_OR_RETURN(Doc doc, Parse(xml));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  ParsedDomain out;
  out.name = Text(Child(root, "name"));
  out.uuid = Text(Child(root, "uuid"));
  const xmlNode* devices = Child(root, "devices");
  if (devices == nullptr) return out;
  for (const xmlNode* d = devices->children; d != nullptr; d = d->next) {
    if (!Is(d, "disk")) continue;
    std::string device = Attr(d, "device");
    if (!device.empty() && device != "disk") continue;
    std::string type = Attr(d, "type");
    const xmlNode* source = Child(d, "source");
    DomainDisk disk;
    disk.block = type == "block";
    disk.path = Attr(source, disk.block ? "dev" : "file");
    disk.target = Attr(Child(d, "target"), "dev");
    disk.format = Attr(Child(d, "driver"), "type");
    if (disk.format.empty()) disk.format = "raw";
    if ((type != "file" && type != "block") || disk.path.empty() || disk.target.empty()) continue;
    out.disks.push_back(std::move(disk));
  }
  return out;
}

namespace {

std::string Dump(const Doc& doc) {
  xmlChar* buf = nullptr;
  int len = 0;
  xmlDocDumpFormatMemory(doc.get(), &buf, &len, 1);
  std::string out(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  xmlFree(buf);
  return out;
}

xmlNode* NewChild(xmlNode* parent, const char* name) {
  return xmlNewChild(parent, nullptr, reinterpret_cast<const xmlChar*>(name), nullptr);
}

// CopyDomainXml's document: renamed, new UUID and MACs, disks moved.
Result<Doc> CopyDoc(const std::string& xml, const std::string& name,
                    const std::map<std::string, std::string>& disk_paths) {
  RPFS_ASSIGN_OR_RETURN(Doc doc, Parse(xml));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  xmlNodeSetContent(Child(root, "name"), reinterpret_cast<const xmlChar*>(name.c_str()));
  if (xmlNode* uuid = Child(root, "uuid")) Remove(uuid);
  std::set<std::string> replaced;
  if (xmlNode* devices = Child(root, "devices")) {
    for (xmlNode* d = devices->children; d != nullptr; d = d->next) {
      if (Is(d, "interface")) {
        if (xmlNode* mac = Child(d, "mac")) Remove(mac);
        continue;
      }
      if (!Is(d, "disk")) continue;
      auto it = disk_paths.find(Attr(Child(d, "target"), "dev"));
      if (it == disk_paths.end()) continue;
      SetAttr(d, "type", "file");
      for (const char* gone : {"source", "backingStore"}) {
        while (xmlNode* n = Child(d, gone)) Remove(n);
      }
      SetAttr(NewChild(d, "source"), "file", it->second);
      xmlNode* driver = Child(d, "driver");
      if (driver == nullptr) {
        driver = NewChild(d, "driver");
        SetAttr(driver, "name", "qemu");
      }
      SetAttr(driver, "type", "raw");
      replaced.insert(it->first);
    }
  }
  for (const auto& [target, path] : disk_paths) {
    if (replaced.count(target) == 0) {
      return Status::InvalidArgument("domain " + Text(Child(root, "name")) + " has no disk " +
                                     target);
    }
  }
  return doc;
}

}  // namespace

Result<std::string> CopyDomainXml(const std::string& xml, const std::string& name,
                                  const std::map<std::string, std::string>& disk_paths) {
  RPFS_ASSIGN_OR_RETURN(Doc doc, CopyDoc(xml, name, disk_paths));
  return Dump(doc);
}

Result<std::string> DrillDomainXml(const std::string& xml, const std::string& name,
                                   const std::map<std::string, std::string>& disk_paths,
                                   const std::string& console_file) {
  RPFS_ASSIGN_OR_RETURN(Doc doc, CopyDoc(xml, name, disk_paths));
  xmlNode* root = xmlDocGetRootElement(doc.get());
  xmlNode* devices = Child(root, "devices");
  if (devices == nullptr) devices = NewChild(root, "devices");
  for (xmlNode* d = devices->children; d != nullptr;) {
    xmlNode* next = d->next;
    // Disks the RP does not hold are the source VM's own, live (a LUN, a floppy image):
    // never let a drill open them; only a CD-ROM, read-only by nature, stays. No network,
    // no host devices, no consoles but the one added below, no remote display (its
    // password is not in the XML rpfs keeps), nothing shared with the host or the VM.
    const bool foreign_disk = Is(d, "disk") && Attr(d, "device") != "cdrom" &&
                              disk_paths.count(Attr(Child(d, "target"), "dev")) == 0;
    if (foreign_disk || Is(d, "interface") || Is(d, "hostdev") || Is(d, "redirdev") ||
        Is(d, "serial") || Is(d, "console") || Is(d, "parallel") || Is(d, "channel") ||
        Is(d, "filesystem") || Is(d, "smartcard") || Is(d, "graphics") || Is(d, "shmem") ||
        Is(d, "vsock") || Is(d, "tpm")) {
      Remove(d);
    }
    d = next;
  }
  // The UEFI variables are the VM's own file: without <nvram> libvirt gives the drill a
  // fresh copy of the firmware's template.
  if (xmlNode* os = Child(root, "os")) {
    while (xmlNode* nvram = Child(os, "nvram")) Remove(nvram);
  }
  // The guest agent's channel, on a socket libvirt makes for this domain (no path given).
  xmlNode* channel = NewChild(devices, "channel");
  SetAttr(channel, "type", "unix");
  xmlNode* agent = NewChild(channel, "target");
  SetAttr(agent, "type", "virtio");
  SetAttr(agent, "name", "org.qemu.guest_agent.0");
  xmlNode* serial = NewChild(devices, "serial");
  SetAttr(serial, "type", "file");
  SetAttr(NewChild(serial, "source"), "path", console_file);
  SetAttr(NewChild(serial, "target"), "port", "0");
  return Dump(doc);
}

}  // namespace rpfs::virt
