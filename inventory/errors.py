from oms.errors import DomainError


class InvalidQuantity(DomainError):
    code = "invalid"


class UnknownProduct(DomainError):
    code = "unknown_sku"


class UnknownWarehouse(DomainError):
    code = "unknown_warehouse"


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    status = 409


class DuplicateSku(DomainError):
    code = "duplicate_sku"
    status = 409
    field = "sku"


class DuplicateBarcode(DomainError):
    code = "duplicate_barcode"
    status = 409
    field = "barcode"


class DuplicateWarehouse(DomainError):
    code = "duplicate_warehouse"
    status = 409
    field = "code"
