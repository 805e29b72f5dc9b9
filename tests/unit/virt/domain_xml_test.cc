// Domain XML on its own (libxml2): which disks rpfs reads, and the copy defined on a
// clone's disks.
#include "virt/domain_xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace rpfs::virt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char kDomain[] = R"(<domain type='kvm'>
  <name>web01</name>
  <uuid>6f1a2b3c-0000-4000-8000-000000000001</uuid>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web01.qcow2'/>
      <backingStore type='file'><format type='raw'/><source file='/base.raw'/></backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/vg0/web01-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sda' bus='sata'/>
    </disk>
    <interface type='network'><mac address='52:54:00:12:34:56'/><source network='default'/></interface>
  </devices>
</domain>)";

TEST(DomainXmlTest, ParsesNameUuidAndTheDisksWithASource) {
  auto d = ParseDomainXml(kDomain);
  ASSERT_OK(d);
  EXPECT_EQ(d->name, "web01");
  EXPECT_EQ(d->uuid, "6f1a2b3c-0000-4000-8000-000000000001");
  ASSERT_EQ(d->disks.size(), 2u);  // the empty CD-ROM is left out
  EXPECT_EQ(d->disks[0].target, "vda");
  EXPECT_EQ(d->disks[0].path, "/var/lib/libvirt/images/web01.qcow2");
  EXPECT_EQ(d->disks[0].format, "qcow2");
  EXPECT_FALSE(d->disks[0].block);
  EXPECT_EQ(d->disks[1].target, "vdb");
  EXPECT_EQ(d->disks[1].path, "/dev/vg0/web01-data");
  EXPECT_TRUE(d->disks[1].block);
}

TEST(DomainXmlTest, BadXmlIsCorruptionNamingTheCause) {
  EXPECT_TRUE(ParseDomainXml("<domain><name>x</name>").status().IsCorruption());
  auto no_name = ParseDomainXml("<domain><devices/></domain>");
  EXPECT_TRUE(no_name.status().IsCorruption());
  EXPECT_THAT(no_name.status().message(), HasSubstr("name"));
}

TEST(DomainXmlTest, ACopyHasANewNameNoUuidNoMacAndRawDisksAtTheGivenPaths) {
  auto copy = CopyDomainXml(kDomain, "web01-copy", {{"vda", "/mnt/rp/web01/.clones/c/vda.raw"}});
  ASSERT_OK(copy);
  EXPECT_THAT(*copy, HasSubstr("<name>web01-copy</name>"));
  EXPECT_THAT(*copy, Not(HasSubstr("<uuid>")));
  EXPECT_THAT(*copy, Not(HasSubstr("52:54:00:12:34:56")));
  EXPECT_THAT(*copy, Not(HasSubstr("/base.raw"))) << "backing chain kept";
  auto parsed = ParseDomainXml(*copy);
  ASSERT_OK(parsed);
  ASSERT_EQ(parsed->disks.size(), 2u);
  EXPECT_EQ(parsed->disks[0].path, "/mnt/rp/web01/.clones/c/vda.raw");
  EXPECT_EQ(parsed->disks[0].format, "raw");
  EXPECT_EQ(parsed->disks[1].path, "/dev/vg0/web01-data");  // not given: unchanged
}

TEST(DomainXmlTest, ACopyRefusesATargetThatIsNotADisk) {
  auto copy = CopyDomainXml(kDomain, "x", {{"vdz", "/tmp/x.raw"}});
  EXPECT_TRUE(copy.status().IsInvalidArgument()) << copy.status().ToString();
}

// A drill's domain boots the RP's disks in isolation: no network, no disk of the live VM
// the RP does not hold, the guest's serial output in a file.
TEST(DomainXmlTest, ADrillDomainIsIsolatedAndWritesItsSerialPortToAFile) {
  std::string xml = kDomain;
  xml.replace(xml.find("  </devices>"), 0,
              "    <serial type='pty'><target port='0'/></serial>\n"
              "    <console type='pty'><target type='serial' port='0'/></console>\n"
              "    <hostdev mode='subsystem' type='pci'/>\n"
              "    <disk type='block' device='lun'><source dev='/dev/sdz'/>"
              "<target dev='sdz' bus='scsi'/></disk>\n"
              "    <graphics type='vnc' port='5901' listen='0.0.0.0'/>\n"
              "    <channel type='unix'><source mode='bind' path='/run/live.agent'/>"
              "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n");
  xml.replace(xml.find("  <devices>"), 0,
              "  <os><loader type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
              "<nvram>/var/lib/libvirt/qemu/nvram/web01_VARS.fd</nvram></os>\n");
  auto drill =
      DrillDomainXml(xml, "rpfs-drill-1", {{"vda", "/clones/vda.raw"}}, "/drills/console.log");
  ASSERT_OK(drill);
  EXPECT_THAT(*drill, HasSubstr("<name>rpfs-drill-1</name>"));
  EXPECT_THAT(*drill, HasSubstr("/clones/vda.raw"));
  EXPECT_THAT(*drill, Not(HasSubstr("web01")));  // neither the qcow2 nor vdb's volume
  EXPECT_THAT(*drill, Not(HasSubstr("vdb")));
  EXPECT_THAT(*drill, Not(HasSubstr("<interface")));
  EXPECT_THAT(*drill, Not(HasSubstr("<hostdev")));
  EXPECT_THAT(*drill, Not(HasSubstr("<console")));
  EXPECT_THAT(*drill, Not(HasSubstr("type=\"pty\"")));
  EXPECT_THAT(*drill, HasSubstr("<source path=\"/drills/console.log\"/>"));
  EXPECT_THAT(*drill, Not(HasSubstr("sdz")));              // a LUN of the live VM
  EXPECT_THAT(*drill, Not(HasSubstr("<graphics")));        // no display on the network
  EXPECT_THAT(*drill, Not(HasSubstr("VARS")));             // not the VM's UEFI variables
  EXPECT_THAT(*drill, HasSubstr("OVMF_CODE.fd"));          // the firmware itself stays
  EXPECT_THAT(*drill, Not(HasSubstr("/run/live.agent")));  // its own agent socket
  EXPECT_THAT(*drill, HasSubstr("name=\"org.qemu.guest_agent.0\""));
  EXPECT_THAT(*drill, HasSubstr("<disk type=\"file\" device=\"cdrom\">"));  // kept: no source
  auto parsed = ParseDomainXml(*drill);
  ASSERT_OK(parsed);
  ASSERT_EQ(parsed->disks.size(), 1u);
  EXPECT_EQ(parsed->disks[0].target, "vda");
  EXPECT_TRUE(DrillDomainXml(xml, "d", {{"vdz", "/x"}}, "/c").status().IsInvalidArgument());
}

}  // namespace
}  // namespace rpfs::virt
