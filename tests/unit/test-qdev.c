/* The device model: registration, properties (typed, JSON), life cycle. */
#include "hw/qdev.h"

typedef struct TestDevice {
    DeviceState parent;
    uint8_t small;
    uint32_t word;
    uint64_t size;
    bool flag;
    char *label;
    int realize_count;
    int reset_count;
} TestDevice;

static const Property test_device_props[] = {
    DEFINE_PROP("small", PROP_UINT8, TestDevice, small, 7, "a byte"),
    DEFINE_PROP("word", PROP_UINT32, TestDevice, word, 0x1234, NULL),
    DEFINE_PROP("size", PROP_SIZE, TestDevice, size, 4096, NULL),
    DEFINE_PROP("flag", PROP_BOOL, TestDevice, flag, 1, NULL),
    { .name = "label", .type = PROP_STRING, .offset = offsetof(TestDevice, label),
      .default_string = "none" },
    DEFINE_PROP_END,
};

static bool test_device_realize(DeviceState *dev, GError **errp)
{
    TestDevice *t = (TestDevice *)dev;
    if (t->word == 0) {
        error_setg(errp, "word must not be 0");
        return false;
    }
    t->realize_count++;
    return true;
}

static void test_device_reset(DeviceState *dev)
{
    ((TestDevice *)dev)->reset_count++;
}

static const DeviceClass test_device_class = {
    .name = "test-device",
    .instance_size = sizeof(TestDevice),
    .props = test_device_props,
    .user_creatable = true,
    .realize = test_device_realize,
    .reset = test_device_reset,
};

static void test_defaults_and_keyval(void)
{
    GError *err = NULL;
    TestDevice *t = (TestDevice *)device_new("test-device", &err);

    g_assert_no_error(err);
    g_assert_cmpuint(t->small, ==, 7);
    g_assert_cmpuint(t->word, ==, 0x1234);
    g_assert_true(t->flag);
    g_assert_cmpstr(t->label, ==, "none");
    device_destroy(&t->parent);

    t = (TestDevice *)device_create_from_option(
        "test-device,id=dev0,small=255,word=0x10,size=2M,flag=off,label=x,,y", &err);
    g_assert_no_error(err);
    g_assert_nonnull(t);
    g_assert_cmpstr(t->parent.id, ==, "dev0");
    g_assert_cmpuint(t->small, ==, 255);
    g_assert_cmpuint(t->word, ==, 0x10);
    g_assert_cmpuint(t->size, ==, 2u << 20);
    g_assert_false(t->flag);
    g_assert_cmpstr(t->label, ==, "x,y");
    g_assert_cmpint(t->realize_count, ==, 1);
    g_assert_true(device_find_by_id("dev0") == &t->parent);

    devices_reset_all();
    g_assert_cmpint(t->reset_count, ==, 1);
    device_destroy(&t->parent);
    g_assert_null(device_find_by_id("dev0"));
}

static void test_json(void)
{
    GError *err = NULL;
    TestDevice *t = (TestDevice *)device_create_from_option(
        "{\"driver\":\"test-device\",\"word\":99,\"flag\":false,\"label\":\"j\"}", &err);

    g_assert_no_error(err);
    g_assert_cmpuint(t->word, ==, 99);
    g_assert_false(t->flag);
    g_assert_cmpstr(t->label, ==, "j");
    device_destroy(&t->parent);
}

static void expect_error(const char *opt, const char *fragment)
{
    GError *err = NULL;
    DeviceState *dev = device_create_from_option(opt, &err);

    g_assert_null(dev);
    g_assert_nonnull(err);
    if (!strstr(err->message, fragment)) {
        g_error("'%s': message '%s' lacks '%s'", opt, err->message, fragment);
    }
    g_error_free(err);
}

static void test_errors(void)
{
    expect_error("no-such-device", "no-such-device");
    expect_error("test-device,bogus=1", "bogus");
    expect_error("test-device,small=256", "out of range");
    expect_error("test-device,word=-1", "word");
    expect_error("test-device,flag=perhaps", "perhaps");
    expect_error("test-device,word=0", "must not be 0");
    expect_error("{\"driver\":\"test-device\",\"word\":[1]}", "word");
    expect_error("{\"driver\":", "JSON");
    expect_error("{\"word\":1}", "driver");
    expect_error("test-device,id=a,id=b,word=0", "must not be 0");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    device_class_register(&test_device_class);
    g_test_add_func("/qdev/defaults-and-keyval", test_defaults_and_keyval);
    g_test_add_func("/qdev/json", test_json);
    g_test_add_func("/qdev/errors", test_errors);
    return g_test_run();
}
