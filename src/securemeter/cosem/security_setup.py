"""Security setup, interface class 64 version 1: the security policy and suite of a client.

No key material is ever an attribute. The policy and the client system title are read from
providers (the meter's security context owns them); every method is behaviour the security
layer injects, and a method without a handler is refused with READ_WRITE_DENIED.
security_policy is the version 1 bit field, carried as an enum as gurux-dlms does.
certificates (6) is an empty array: suites 1 and 2 are not offered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from securemeter.codec.axdr import Array, Data, Enum, OctetString
from securemeter.codec.identifiers import SecurityPolicy, SecuritySuite
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
    AttributeDef,
    ChangeObserver,
    CosemObject,
    MethodDef,
    MethodHandler,
)

SECURITY_SETUP: Final = Obis(0, 0, 43, 0, 0, 255)


class SecuritySetup(CosemObject):
    CLASS_ID = 64
    VERSION = 1
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "security_policy"),
        AttributeDef(3, "security_suite"),
        AttributeDef(4, "client_system_title"),
        AttributeDef(5, "server_system_title"),
        AttributeDef(6, "certificates"),
    )
    METHODS = (
        MethodDef(1, "security_activate"),
        MethodDef(2, "key_transfer"),
        MethodDef(3, "key_agreement"),
        MethodDef(4, "generate_key_pair"),
        MethodDef(5, "generate_certificate_request"),
        MethodDef(6, "import_certificate"),
        MethodDef(7, "export_certificate"),
        MethodDef(8, "remove_certificate"),
    )

    def __init__(
        self,
        logical_name: Obis = SECURITY_SETUP,
        *,
        security_policy: Callable[[], SecurityPolicy],
        security_suite: SecuritySuite,
        client_system_title: Callable[[], bytes],
        server_system_title: bytes,
        security_activate: MethodHandler | None = None,
        key_transfer: MethodHandler | None = None,
        key_agreement: MethodHandler | None = None,
        generate_key_pair: MethodHandler | None = None,
        generate_certificate_request: MethodHandler | None = None,
        import_certificate: MethodHandler | None = None,
        export_certificate: MethodHandler | None = None,
        remove_certificate: MethodHandler | None = None,
        on_change: ChangeObserver | None = None,
    ) -> None:
        super().__init__(logical_name, on_change=on_change)
        if len(server_system_title) != 8:
            raise ValueError("a system title is 8 octets")
        self._security_policy = security_policy
        self._security_suite = Enum(SecuritySuite(security_suite))
        self._client_system_title = client_system_title
        self._server_system_title = OctetString(bytes(server_system_title))
        self._security_activate = security_activate
        self._key_transfer = key_transfer
        self._key_agreement = key_agreement
        self._generate_key_pair = generate_key_pair
        self._generate_certificate_request = generate_certificate_request
        self._import_certificate = import_certificate
        self._export_certificate = export_certificate
        self._remove_certificate = remove_certificate

    # -- attributes

    def _get_security_policy(self) -> Data:
        return Enum(int(self._security_policy()))

    def _get_security_suite(self) -> Data:
        return self._security_suite

    def _get_client_system_title(self) -> Data:
        return OctetString(self._client_system_title())

    def _get_server_system_title(self) -> Data:
        return self._server_system_title

    def _get_certificates(self) -> Data:
        return Array(())

    # -- methods: those that change keys, policy or certificates report a configuration change

    def _invoke_security_activate(self, parameter: Data) -> Data | None:
        return self._delegate(self._security_activate, 1, parameter, configuring=True)

    def _invoke_key_transfer(self, parameter: Data) -> Data | None:
        return self._delegate(self._key_transfer, 2, parameter, configuring=True)

    def _invoke_key_agreement(self, parameter: Data) -> Data | None:
        return self._delegate(self._key_agreement, 3, parameter, configuring=True)

    def _invoke_generate_key_pair(self, parameter: Data) -> Data | None:
        return self._delegate(self._generate_key_pair, 4, parameter, configuring=True)

    def _invoke_generate_certificate_request(self, parameter: Data) -> Data | None:
        return self._delegate(self._generate_certificate_request, 5, parameter, configuring=False)

    def _invoke_import_certificate(self, parameter: Data) -> Data | None:
        return self._delegate(self._import_certificate, 6, parameter, configuring=True)

    def _invoke_export_certificate(self, parameter: Data) -> Data | None:
        return self._delegate(self._export_certificate, 7, parameter, configuring=False)

    def _invoke_remove_certificate(self, parameter: Data) -> Data | None:
        return self._delegate(self._remove_certificate, 8, parameter, configuring=True)
